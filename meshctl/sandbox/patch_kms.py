"""KMS ``CreateGrant`` with a ``Name`` is idempotent, as in AWS.

AWS: "When this value [Name] is present, you can retry this request with identical parameters; if
the grant already exists, the original GrantId is returned without creating a new grant" (AWS KMS
API reference, CreateGrant, request parameter ``Name``). moto 5.2.5 adds a new grant on every call,
so a create repeated after a lost answer or an interrupted apply would leave two grants. Here a
call naming a grant whose name, grantee, operations, constraints and retiring principal all match
one of the key's grants returns that grant; any difference still makes a new one.
"""

from __future__ import annotations

from typing import Any

from moto.kms.models import Key


def _wrap_add_grant(original: Any) -> Any:
    def add_grant(
        self: Any,
        name: str,
        grantee_principal: str,
        operations: list[str],
        constraints: dict[str, Any],
        retiring_principal: str,
    ) -> Any:
        if name:
            for grant in self.grants.values():
                same = (
                    grant.name == name
                    and grant.grantee_principal == grantee_principal
                    and sorted(grant.operations or []) == sorted(operations or [])
                    and (grant.constraints or None) == (constraints or None)
                    and (grant.retiring_principal or None) == (retiring_principal or None)
                )
                if same:
                    return grant
        return original(
            self,
            name,
            grantee_principal,
            operations,
            constraints=constraints,
            retiring_principal=retiring_principal,
        )

    return add_grant


def install() -> None:
    key: Any = Key
    key.add_grant = _wrap_add_grant(key.add_grant)
