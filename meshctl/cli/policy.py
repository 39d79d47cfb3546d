"""``--policy DIR`` of `plan` and `apply`: load the policies before AWS is read, check the plan,
and refuse it on a mandatory violation (docs/policies.md).

`apply` of a saved plan checks it again before taking the lock, so a refused plan writes nothing
(not even its lock) and stays usable once the policies pass.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich.console import Console

from meshctl.planning.plan import Plan
from meshctl.render.policies import print_policies
from meshctl.rules.check import check_plan, refuse_violations, with_policies
from meshctl.rules.load import Policy, load_policies
from meshctl.spec.model import MeshSpec


def load_option(directory: Path | None) -> tuple[Policy, ...] | None:
    """The compiled policies of ``--policy`` (a bad file is an error here, before any AWS call)."""
    return None if directory is None else load_policies(directory)


def checked(plan: Plan, policies: tuple[Policy, ...] | None, spec: MeshSpec, today: date) -> Plan:
    """The plan carrying the report of ``policies`` (unchanged without ``--policy``)."""
    if policies is None:
        return plan
    return with_policies(plan, check_plan(policies, spec, plan, today=today))


def gate_saved(
    saved: Plan,
    policies: tuple[Policy, ...] | None,
    spec: MeshSpec,
    today: date,
    console: Console,
) -> Plan:
    """A saved plan passes when its recorded check has no mandatory violation and, with
    ``--policy``, the check made again now has none either; otherwise PolicyError."""
    recorded = saved.policies
    if recorded is not None and not recorded.passed:
        print_policies(recorded, console)
        refuse_violations(recorded, applying=True)
    if policies is None:
        return saved
    report = check_plan(policies, spec, saved, today=today)
    print_policies(report, console)
    refuse_violations(report, applying=True)
    return with_policies(saved, report)


def refuse(plan: Plan, *, applying: bool) -> None:
    if plan.policies is not None:
        refuse_violations(plan.policies, applying=applying)
