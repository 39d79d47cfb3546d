"""KMS grants (docs/kms.md): created with CreateGrant, removed with RevokeGrant, in the key's
account. The key policy is never read or written.

Idempotent: CreateGrant with a Name and identical parameters returns the grant that exists
rather than a second one (KMS API reference, CreateGrant ``Name``), so a create repeated after a
lost answer or an interrupted apply converges; revoking a grant that is gone counts as done.
"""

from __future__ import annotations

from meshctl.aws.apply.context import ApplyContext
from meshctl.codec import from_json
from meshctl.observed import KmsGrant
from meshctl.planning.plan import Action, Change

_GONE = frozenset({"NotFoundException"})


def kms_grant(ctx: ApplyContext, change: Change) -> None:
    if change.action in (Action.CREATE, Action.UPDATE):
        want = from_json(KmsGrant, change.after)
        ctx.api.require(
            "kms",
            "create_grant",
            KeyId=want.key_arn,
            GranteePrincipal=want.grantee,
            Operations=list(want.operations),
            Name=want.name,
        )
    if change.action in (Action.UPDATE, Action.DELETE):
        # An update made the new grant first, so the role can decrypt throughout.
        have = from_json(KmsGrant, change.before)
        ctx.api.call(
            "kms", "revoke_grant", ok_codes=_GONE, KeyId=have.key_arn, GrantId=have.grant_id
        )
