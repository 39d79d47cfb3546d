"""``meshctl deployer-policy`` as IAM JSON or as Terraform (``aws_iam_policy_document``).

The Terraform block says exactly what the JSON says: one ``statement`` per JSON statement, in the
same order, with the same sid, actions and resources, so either can be reviewed for the other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from meshctl.planning.policies import Document


def render_policies_json(documents: Mapping[str, Document]) -> str:
    """One side: the policy document itself; both: ``{"mesh": ..., "member": ...}``."""
    value = next(iter(documents.values())) if len(documents) == 1 else dict(documents)
    return json.dumps(value, indent=2)


def _hcl_string(text: str) -> str:
    # JSON string escapes are HCL's; ``${`` and ``%{`` would start a template there.
    return json.dumps(text).replace("${", "$${").replace("%{", "%%{")


def _hcl_list(values: str | list[str]) -> str:
    items = [values] if isinstance(values, str) else values
    if len(items) == 1:
        return f"[{_hcl_string(items[0])}]"
    return "[\n" + "".join(f"      {_hcl_string(v)},\n" for v in items) + "    ]"


def render_policies_terraform(documents: Mapping[str, Document]) -> str:
    """A ``data "aws_iam_policy_document" "meshctl_deployer_<side>"`` block per side."""
    blocks = []
    for side, document in documents.items():
        lines = [f'data "aws_iam_policy_document" "meshctl_deployer_{side}" {{']
        for statement in document["Statement"]:
            lines += [
                "  statement {",
                f"    sid       = {_hcl_string(statement['Sid'])}",
                f"    effect    = {_hcl_string(statement['Effect'])}",
                f"    actions   = {_hcl_list(statement['Action'])}",
                f"    resources = {_hcl_list(statement['Resource'])}",
                "  }",
            ]
        lines.append("}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
