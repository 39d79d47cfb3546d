"""Each statement of `meshctl deployer-policy`, removed alone from a fresh mesh, is refused.

The exhaustive form of tests/integration/test_deployer_policy.py (which removes apply's statements
a step at a time on one mesh, in about 20 s): here every statement gets its own fresh sandbox
with IAM enforced, and plan, apply, a second plan, import and `meshctl access` run until one is
refused AccessDenied for an action and resource only that statement allows. About a minute:
`make reliability` runs it (MESHCTL_DEPLOYER_EACH=1).
"""

from __future__ import annotations

import pytest
from support.deployer import MESH_FILE, PHASES, build
from support.deployer_proof import caused_by, denials
from support.sandbox import InProcessSandbox

from meshctl.planning.deployer_policy import Side, deployer_policy
from meshctl.spec.load import load_spec

SIDS = sorted(
    s["Sid"] for side in Side for s in deployer_policy(load_spec(MESH_FILE), side)["Statement"]
)

# Collected only with MESHCTL_DEPLOYER_EACH=1 (conftest.py deselects it otherwise).


@pytest.mark.parametrize("sid", SIDS)
def test_without_this_statement_some_step_is_denied_its_action(
    sid: str, sandbox: InProcessSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    mesh = build(sandbox, monkeypatch)
    mesh.put_policies(without=[sid])
    refused: list[str] = []
    for phase in PHASES:
        with mesh.enforced():
            errors = mesh.run(phase)
        if errors:
            refused = errors
            break
    assert caused_by(mesh.spec, sid, denials(refused)), refused
