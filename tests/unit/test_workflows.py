"""The GitHub workflows, the composite action and the pre-commit hook, linted here in Python.

actionlint cannot be installed offline (its PyPI package downloads a binary at build time), so
these tests check what it would and what matters to meshctl: valid YAML with the required keys,
every action pinned to a version, AWS only through OIDC (no stored keys), applies serialised,
and every ``meshctl`` command and flag the workflows, the action and the hook use exists in the
CLI. The plan-comment script runs under node against a fake GitHub API (one comment, updated).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from meshctl.cli import app as cli
from meshctl.render.markdown import MARKDOWN_MARKER

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = {p.stem: p for p in sorted((ROOT / ".github" / "workflows").glob("*.yml"))}
ACTION = ROOT / "action.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")
CONFIGURE_AWS = "aws-actions/configure-aws-credentials"
# Commands that never call AWS (they may run before the credentials step).
OFFLINE = {"validate", "schema", "codeowners", "approvals"}


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a YAML mapping"
    return data


def _on(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean true.
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict), "`on` must be a mapping of events"
    return on


def _jobs(name: str) -> dict[str, dict[str, Any]]:
    jobs: dict[str, dict[str, Any]] = _load(WORKFLOWS[name])["jobs"]
    return jobs


def _all_steps() -> list[tuple[str, dict[str, Any]]]:
    steps = [
        (f"{name}/{job_name}", step)
        for name in WORKFLOWS
        for job_name, job in _jobs(name).items()
        for step in job["steps"]
    ]
    return steps + [("action.yml", step) for step in _load(ACTION)["runs"]["steps"]]


# --- shape ---------------------------------------------------------------------------------------


def test_the_four_workflows_exist() -> None:
    assert set(WORKFLOWS) == {"plan", "apply", "expiry", "catalog"}


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_workflow_has_the_required_keys(name: str) -> None:
    workflow = _load(WORKFLOWS[name])
    assert workflow.get("name"), "a workflow needs a name"
    assert _on(workflow)
    assert workflow["jobs"], "a workflow needs jobs"
    for job_name, job in workflow["jobs"].items():
        assert job.get("runs-on"), f"job {job_name} needs runs-on"
        assert job.get("steps"), f"job {job_name} needs steps"
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), f"{job_name}: a step is uses XOR run"


def test_composite_action_has_its_inputs_and_outputs() -> None:
    action = _load(ACTION)
    assert set(action["inputs"]) == {"command", "mesh-file", "python-version", "args"}
    assert action["inputs"]["command"]["required"] is True
    assert set(action["outputs"]) == {"exit-code", "output-file"}
    assert action["runs"]["using"] == "composite"
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step.get("shell") == "bash", "a composite action's run step needs a shell"
            # Inputs reach scripts through env, never pasted in (script injection).
            assert "${{" not in step["run"], step["run"]


def test_every_action_is_pinned_to_a_version() -> None:
    for where, step in _all_steps():
        uses = step.get("uses")
        if uses and not uses.startswith("./"):
            assert PINNED.match(uses), f"{where}: {uses} is not pinned to a version tag or SHA"


# --- AWS through OIDC only ----------------------------------------------------------------------


def test_no_stored_aws_keys_anywhere() -> None:
    for path in [*WORKFLOWS.values(), ACTION]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"secrets\.AWS_", text), path.name
        assert "aws-access-key-id" not in text and "aws-secret-access-key" not in text, path.name


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_aws_is_reached_through_oidc_before_any_aws_command(name: str) -> None:
    workflow = _load(WORKFLOWS[name])
    for job_name, job in workflow["jobs"].items():
        steps = job["steps"]
        configure = [
            i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith(CONFIGURE_AWS)
        ]
        aws_calls = [
            i
            for i, s in enumerate(steps)
            if s.get("uses") == "./" and s["with"]["command"].split()[0] not in OFFLINE
        ]
        if not aws_calls:
            continue
        assert configure and configure[0] < aws_calls[0], f"{job_name}: credentials come first"
        permissions = job.get("permissions") or workflow.get("permissions") or {}
        assert permissions.get("id-token") == "write", f"{job_name}: OIDC needs id-token: write"
        role = steps[configure[0]]["with"]["role-to-assume"]
        assert "vars.MESHCTL_ROLE_ARN" in role, f"{job_name}: role from a repository variable"


# --- what each workflow promises ---------------------------------------------------------------


def test_plan_runs_on_mesh_pull_requests_and_comments_once() -> None:
    workflow = _load(WORKFLOWS["plan"])
    paths = _on(workflow)["pull_request"]["paths"]
    assert {"mesh.yaml", "mesh.d/**"} <= set(paths)
    (job,) = workflow["jobs"].values()
    assert job["permissions"]["pull-requests"] == "write"
    commands = [s["with"]["command"] for s in job["steps"] if s.get("uses") == "./"]
    # validate first: a bad file never reaches AWS; the owners' checks before the plan is posted
    assert commands == ["validate", "codeowners", "approvals", "plan"]
    plan = next(s for s in job["steps"] if s.get("id") == "plan")
    args = shlex.split(plan["with"]["args"])
    assert args[:5] == ["--format", "markdown", "--detailed-exitcode", "--out", "plan.json"]
    assert args[5:] in ([], ["${{", "steps.policies.outputs.args", "}}"])  # --policy DIR, if any
    upload = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-"))
    assert upload["with"]["path"] == "plan.json"
    comment = next(s for s in job["steps"] if "github-script" in str(s.get("uses", "")))
    assert MARKDOWN_MARKER in comment["with"]["script"]


def test_apply_on_main_is_serialised_and_never_cancelled() -> None:
    workflow = _load(WORKFLOWS["apply"])
    assert _on(workflow)["push"]["branches"] == ["main"]
    assert workflow["concurrency"] == {"group": "meshctl-apply", "cancel-in-progress": False}
    (job,) = workflow["jobs"].values()
    apply = next(s for s in job["steps"] if s.get("id") == "apply")
    assert apply["with"]["command"] == "apply"
    assert "--auto-approve" in shlex.split(apply["with"]["args"])


def test_expiry_runs_daily() -> None:
    (schedule,) = _on(_load(WORKFLOWS["expiry"]))["schedule"]
    minute, hour, *rest = schedule["cron"].split()
    assert rest == ["*", "*", "*"] and minute.isdigit() and hour.isdigit()


def test_catalog_is_published_to_pages_on_merge() -> None:
    workflow = _load(WORKFLOWS["catalog"])
    on = _on(workflow)
    assert on["push"]["branches"] == ["main"]
    assert {"mesh.yaml", "mesh.d/**"} <= set(on["push"]["paths"])
    assert workflow["concurrency"]["cancel-in-progress"] is False  # never half-published
    jobs = _jobs("catalog")
    build, deploy = jobs["build"], jobs["deploy"]
    catalog = next(s for s in build["steps"] if s.get("with", {}).get("command") == "catalog")
    args = shlex.split(catalog["with"]["args"])
    out = args[args.index("--out") + 1]
    assert "--offline" not in args  # columns from the live catalog, read through OIDC
    # edit links to this repository, on the branch the run published (one word once expanded)
    here = "${{ github.server_url }}/${{ github.repository }}/tree/${{ github.ref_name }}"
    assert f"--repo-url {here}" in catalog["with"]["args"]
    upload = next(s for s in build["steps"] if "upload-pages-artifact" in str(s.get("uses")))
    assert upload["with"]["path"] == out
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    (step,) = deploy["steps"]
    assert str(step["uses"]).startswith("actions/deploy-pages@")


# --- every meshctl call exists ------------------------------------------------------------------


def _cli() -> Any:
    """The root command (typer vendors click: groups are recognised by their ``commands``)."""
    cli._register_subcommands()
    return typer.main.get_command(cli.app)


def _subcommands(command: Any) -> dict[str, Any]:
    return dict(getattr(command, "commands", None) or {})


def _resolve(words: list[str]) -> Any:
    command, path = _cli(), ["meshctl"]
    for word in words:
        found = _subcommands(command).get(word)
        assert found is not None, f"`{' '.join(path)} {word}` is not a meshctl command"
        command, path = found, [*path, word]
    assert not _subcommands(command), f"`{' '.join(path)}` needs a subcommand"
    return command


def _flags(command: Any) -> set[str]:
    return {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)} | {"--help"}


def _file_commands() -> set[str]:
    """The commands the action passes ``-f MESH_FILE`` to (its `case` pattern)."""
    script = next(s["run"] for s in _load(ACTION)["runs"]["steps"] if s.get("id") == "run")
    found = re.search(r"^\s*([a-z|]+)\)\s*file=\(-f ", script, re.MULTILINE)
    assert found, "the action's case pattern for -f was not found"
    return set(found.group(1).split("|"))


def _invocations() -> list[tuple[str, list[str], list[str]]]:
    """(where, command words, arguments) of every meshctl call made through the action."""
    calls = []
    for where, step in _all_steps():
        if step.get("uses") != "./":
            continue
        words = step["with"]["command"].split()
        args = shlex.split(step["with"].get("args", ""))
        if words[0] in _file_commands() and step["with"].get("mesh-file", "mesh.yaml"):
            args = ["-f", "mesh.yaml", *args]
        calls.append((where, words, args))
    return calls


def test_workflows_call_meshctl_through_the_action() -> None:
    called = {" ".join(words) for _, words, _ in _invocations()}
    assert called == {"validate", "plan", "apply", "codeowners", "approvals", "catalog"}


@pytest.mark.parametrize("call", _invocations(), ids=lambda c: f"{c[0]}:{' '.join(c[1])}")
def test_every_command_and_flag_exists(call: tuple[str, list[str], list[str]]) -> None:
    where, words, args = call
    command = _resolve(words)
    unknown = {a.split("=")[0] for a in args if a.startswith("-")} - _flags(command)
    assert not unknown, f"{where}: meshctl {' '.join(words)} has no option {sorted(unknown)}"


@pytest.mark.parametrize("name", sorted(_file_commands()))
def test_the_action_passes_f_only_to_commands_that_take_it(name: str) -> None:
    command = _subcommands(_cli()).get(name)
    assert command is not None, f"the action lists unknown command {name}"
    for leaf in _subcommands(command).values() or [command]:  # e.g. subscriptions list, get
        assert "-f" in _flags(leaf), name


def test_the_action_treats_only_detailed_exitcode_2_as_success(tmp_path: Path) -> None:
    """Run the action's script with a stand-in `meshctl` that exits 2."""
    script = next(s["run"] for s in _load(ACTION)["runs"]["steps"] if s.get("id") == "run")
    fake = tmp_path / "bin" / "meshctl"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "args: $*"\nexit 2\n')
    fake.chmod(0o755)

    def run(args: str) -> tuple[int, dict[str, str], str]:
        outputs = tmp_path / "outputs"
        outputs.write_text("")
        env = {
            **os.environ,
            "PATH": f"{fake.parent}:{os.environ['PATH']}",
            "MESHCTL_COMMAND": "plan",
            "MESHCTL_MESH_FILE": "mesh.d",
            "MESHCTL_ARGS": args,
            "GITHUB_OUTPUT": str(outputs),
            "RUNNER_TEMP": str(tmp_path),
        }
        done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
        values = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
        return done.returncode, values, Path(values["output-file"]).read_text()

    rc, values, printed = run("--format markdown --detailed-exitcode")
    assert (rc, values["exit-code"]) == (0, "2")
    assert printed == "args: plan -f mesh.d --format markdown --detailed-exitcode\n"
    rc, values, _ = run("--format json")
    assert (rc, values["exit-code"]) == (2, "2")


# --- the plan comment ---------------------------------------------------------------------------


def _comment_script() -> str:
    (job,) = _jobs("plan").values()
    step = next(s for s in job["steps"] if "github-script" in str(s.get("uses", "")))
    return str(step["with"]["script"])


def _run_comment_script(
    tmp_path: Path,
    plan_text: str,
    existing: list[dict[str, Any]],
    extra_env: dict[str, str] | None = None,
) -> Any:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    plan_file = tmp_path / "plan.md"
    plan_file.write_text(plan_text, encoding="utf-8")
    harness = tmp_path / "harness.js"
    harness.write_text(
        "const calls = [];\n"
        "const existing = JSON.parse(process.env.EXISTING);\n"
        "const github = {\n"
        "  paginate: async (method, args) => { calls.push(['list', args]); return existing; },\n"
        "  rest: { issues: {\n"
        "    listComments: 'listComments',\n"
        "    updateComment: async (a) => { calls.push(['update', a]); },\n"
        "    createComment: async (a) => { calls.push(['create', a]); },\n"
        "  } },\n"
        "};\n"
        "const context = { repo: { owner: 'acme', repo: 'mesh' }, issue: { number: 7 },\n"
        "  sha: '0123456789abcdef', runId: 42, serverUrl: 'https://github.com' };\n"
        f"(async () => {{\n{_comment_script()}\n"
        "console.log(JSON.stringify(calls)); })();\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PLAN_FILE": str(plan_file), "EXIT_CODE": "2"}
    env["EXISTING"] = json.dumps(existing)
    env.update(extra_env or {})
    done = subprocess.run([node, str(harness)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


PLAN_MD = f"{MARKDOWN_MARKER}\n### meshctl plan\n\n**Plan: 1 to create**\n"


def test_plan_comment_updates_the_previous_one(tmp_path: Path) -> None:
    existing = [
        {"id": 1, "user": {"type": "User"}, "body": f"quoting {MARKDOWN_MARKER} by hand"},
        {"id": 2, "user": {"type": "Bot"}, "body": "another bot"},
        {"id": 3, "user": {"type": "Bot"}, "body": f"{MARKDOWN_MARKER}\nold plan"},
    ]
    calls = _run_comment_script(tmp_path, PLAN_MD, existing)
    writes = [c for c in calls if c[0] != "list"]
    assert [(kind, args.get("comment_id")) for kind, args in writes] == [("update", 3)]
    body = writes[0][1]["body"]
    assert body.startswith(PLAN_MD) and "Commit 0123456" in body


def test_plan_comment_is_created_once_when_there_is_none(tmp_path: Path) -> None:
    calls = _run_comment_script(tmp_path, PLAN_MD, [])
    writes = [c for c in calls if c[0] != "list"]
    assert [kind for kind, _ in writes] == ["create"]
    assert writes[0][1]["issue_number"] == 7


def test_huge_plan_comment_is_truncated_below_githubs_limit(tmp_path: Path) -> None:
    calls = _run_comment_script(tmp_path, PLAN_MD + "x" * 100_000, [])
    body = calls[-1][1]["body"]
    assert len(body) < 65536 and "plan truncated" in body and body.startswith(MARKDOWN_MARKER)


# --- the owners' approval in the pull request ---------------------------------------------------


def _plan_steps() -> list[dict[str, Any]]:
    (job,) = _jobs("plan").values()
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def _step(steps: list[dict[str, Any]], **match: str) -> tuple[int, dict[str, Any]]:
    for i, step in enumerate(steps):
        if all(
            step.get(k) == v or step.get("with", {}).get(k) == v or v in str(step.get(k, ""))
            for k, v in match.items()
        ):
            return i, step
    raise AssertionError(f"plan.yml has no step with {match}")


def _options(step: dict[str, Any]) -> dict[str, str]:
    """--option value pairs; each ${{ expression }} kept as one word, as GitHub fills it in."""
    text = re.sub(r"\$\{\{\s*(.*?)\s*\}\}", r"${{\1}}", step["with"].get("args", ""))
    args = shlex.split(text)
    return dict(zip(args[::2], args[1::2], strict=True))


def test_plan_checks_owners_approval_before_posting_the_plan() -> None:
    steps = _plan_steps()
    base_at, base = _step(steps, uses="actions/checkout", path=".meshctl-base")
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert base["with"]["persist-credentials"] is False
    codeowners_at, codeowners = _step(steps, command="codeowners")
    assert _options(codeowners) == {"--check": ".github/CODEOWNERS"}
    fetch_at, fetch = _step(steps, run="gh api")
    approvals_at, approvals = _step(steps, command="approvals")
    options = _options(approvals)
    assert options["--base"] == ".meshctl-base/${{env.MESH_FILE}}"
    assert options["--codeowners"] == ".meshctl-base"  # the base's CODEOWNERS: GitHub's
    assert options["--head-sha"] == "${{github.event.pull_request.head.sha}}"
    assert options["--format"] == "markdown"
    assert f"> {options['--reviews']}" in fetch["run"]
    comment_at, comment = _step(steps, uses="actions/github-script")
    assert base_at < approvals_at and fetch_at < approvals_at < comment_at
    assert codeowners_at < comment_at
    # Both may fail without stopping the comment; the last step then fails the job.
    assert codeowners["continue-on-error"] is True and approvals["continue-on-error"] is True
    assert comment["env"]["APPROVALS_FILE"] == "${{ steps.approvals.outputs.output-file }}"
    gate = steps[-1]
    assert "steps.approvals.outcome == 'failure'" in gate["if"]
    assert "steps.codeowners.outcome == 'failure'" in gate["if"]
    assert gate["run"].rstrip().endswith("exit 1")


def test_reviews_are_fetched_with_the_jobs_token_into_what_approvals_reads(
    tmp_path: Path,
) -> None:
    """Run the fetch step with a stand-in `gh` that prints two pages, as --paginate does."""
    from meshctl.planning.reviews import parse_reviews

    _, fetch = _step(_plan_steps(), run="gh api")
    assert fetch["env"]["GH_TOKEN"] == "${{ github.token }}"  # no stored token
    assert "${{" not in fetch["run"], "inputs reach the script through env"
    fake = tmp_path / "bin" / "gh"
    fake.parent.mkdir()
    page = '[{"user": {"login": "%s"}, "state": "APPROVED", "commit_id": "c"}]'
    fake.write_text(
        f'#!/bin/sh\necho "$*" > "{tmp_path}/args"\necho \'{page % "alice"}\'\n'
        f"echo '{page % 'bob'}'\n"
    )
    fake.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{fake.parent}:{os.environ['PATH']}",
        "REPO": "acme/mesh",
        "PR_NUMBER": "7",
        "GH_TOKEN": "x",
    }
    done = subprocess.run(
        ["bash", "-c", fetch["run"]], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "args").read_text().split()[:3] == [
        "api",
        "--paginate",
        "repos/acme/mesh/pulls/7/reviews?per_page=100",
    ]
    _, approvals = _step(_plan_steps(), command="approvals")
    written = tmp_path / _options(approvals)["--reviews"]
    reviews = parse_reviews(written.read_text(), written.name)
    assert [r.login for r in reviews] == ["alice", "bob"]


APPROVALS_MD = "<!-- meshctl-approvals -->\n### Owners' approval\n\n**1 change widens access**\n"


def test_plan_comment_shows_the_approvals_first(tmp_path: Path) -> None:
    approvals = tmp_path / "approvals.md"
    approvals.write_text(APPROVALS_MD)
    env = {"APPROVALS_FILE": str(approvals), "CODEOWNERS_EXIT": "0"}
    body = _run_comment_script(tmp_path, PLAN_MD, [], env)[-1][1]["body"]
    assert body.startswith(f"{MARKDOWN_MARKER}\n{APPROVALS_MD}")
    assert body.count(MARKDOWN_MARKER) == 1 and "### meshctl plan" in body
    assert "CODEOWNERS is out of date" not in body


def test_plan_comment_says_when_approvals_or_codeowners_failed(tmp_path: Path) -> None:
    approvals = tmp_path / "approvals.md"
    approvals.write_text("")  # meshctl approvals stopped on an error: nothing printed
    env = {"APPROVALS_FILE": str(approvals), "CODEOWNERS_EXIT": "1"}
    body = _run_comment_script(tmp_path, PLAN_MD, [], env)[-1][1]["body"]
    assert "**meshctl approvals failed**" in body and "CODEOWNERS is out of date" in body
    assert body.startswith(MARKDOWN_MARKER) and "### meshctl plan" in body


# --- the pre-commit hook ------------------------------------------------------------------------


def _hook() -> dict[str, Any]:
    (hook,) = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    assert isinstance(hook, dict)
    return hook


def test_hook_definition() -> None:
    hook = _hook()
    assert (hook["id"], hook["language"], hook["pass_filenames"]) == (
        "meshctl-validate",
        "python",
        True,
    )
    files = re.compile(hook["files"])
    for path in ("mesh.yaml", "mesh.yml", "infra/mesh.yaml", "mesh.d/sales.yaml"):
        assert files.search(path), path
    for path in ("notmesh.yaml", "examples/other.yaml", "mesh.d/old/x.yaml", "mesh.yaml.bak"):
        assert not files.search(path), path


def test_hook_validates_each_file_and_each_mesh_d_once(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "tests" / "data" / "valid" / "mesh.d", tmp_path / "mesh.d")
    shutil.copy(ROOT / "examples" / "mesh.yaml", tmp_path / "mesh.yaml")
    bad = tmp_path / "bad" / "mesh.yaml"
    bad.parent.mkdir()
    shutil.copy(ROOT / "tests" / "data" / "invalid" / "unknown-role.yaml", bad)
    entry = shlex.split(_hook()["entry"])
    # meshctl validate: one path per run, as the hook calls it
    assert {"path"} <= {p.name for p in _resolve(["validate"]).params}
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}

    def run(*files: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*entry, *files], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    ok = run("mesh.yaml", "mesh.d/00-mesh.yaml", "mesh.d/sales.yaml")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count("mesh.yaml: valid") == 1 and ok.stdout.count("mesh.d: valid") == 1
    failed = run("bad/mesh.yaml", "mesh.yaml")
    assert failed.returncode == 1
    assert "bad/mesh.yaml:" in failed.stderr and "mesh.yaml: valid" in failed.stdout


# --- policies as code (issue 17) ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "command"), [("plan", "plan"), ("apply", "apply")])
def test_plan_and_apply_check_the_repositorys_policies_when_it_has_them(
    name: str, command: str, tmp_path: Path
) -> None:
    """The policies step turns an existing policies/ into `--policy policies/` for the command
    (a real flag of it), and into nothing when the repository has no policies."""
    steps = [step for job in _jobs(name).values() for step in job["steps"]]
    [finder] = [s for s in steps if s.get("id") == "policies"]
    [runner] = [s for s in steps if s.get("uses") == "./" and s["with"]["command"] == command]
    assert steps.index(finder) < steps.index(runner)
    assert "${{ steps.policies.outputs.args }}" in runner["with"]["args"]
    assert "--policy" in _flags(_resolve([command]))

    def outputs(with_policies: bool) -> str:
        work = tmp_path / str(with_policies)
        work.mkdir()
        if with_policies:
            (work / "policies").mkdir()
        out = work / "github_output"
        out.touch()
        env = {**os.environ, "GITHUB_OUTPUT": str(out), "POLICY_DIR": "policies"}
        done = subprocess.run(["bash", "-c", finder["run"]], cwd=work, env=env, check=False)
        assert done.returncode == 0
        return out.read_text()

    assert outputs(True) == "args=--policy policies\n"
    assert outputs(False) == ""
    if name == "plan":
        assert "policies/**" in _on(_load(WORKFLOWS[name]))["pull_request"]["paths"]
