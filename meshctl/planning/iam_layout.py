"""Which IAM roles the mesh has, with which documents, and the users and groups beside them.

Pure. The roles follow the helper library's layout (architecture.md): in the mesh account
``DataMeshManager``, ``DataMeshAdminReadOnly`` and one ``DataMeshAdminProducer-<id>`` /
``DataMeshAdminConsumer-<id>`` per member; in each member account ``DataMeshProducer`` /
``DataMeshConsumer``. With ``mesh.iam_users`` each role also has a user of its name and a group
``<name>Group`` (the library's "user and group each"); the documents come from ``policies``.
"""

from __future__ import annotations

from dataclasses import dataclass

from meshctl.planning import policies
from meshctl.planning.policies import MESH_ROLE_PATH, Document
from meshctl.spec.model import MeshSpec


@dataclass(frozen=True)
class RoleLayout:
    account_id: str
    name: str
    trust: Document
    policy: Document  # the role's one inline policy, named like the role


def mesh_roles(spec: MeshSpec) -> list[RoleLayout]:
    """Every role the spec needs, member roles before the mesh roles that trust them."""
    m, region, table = spec.mesh.account_id, spec.mesh.region, spec.mesh.subscriptions_table
    producers = sorted(a.account_id for a in spec.accounts if a.is_producer)
    consumers = sorted(a.account_id for a in spec.accounts if a.is_consumer)
    roles = [
        RoleLayout(
            m,
            policies.MANAGER_ROLE,
            policies.manager_trust(m),
            policies.manager_policy(m, region, table),
        ),
        RoleLayout(
            m,
            policies.READ_ONLY_ROLE,
            policies.read_only_trust(m, producers, consumers),
            policies.read_only_policy(m, region, table),
        ),
    ]
    sides = (
        (
            producers,
            policies.PRODUCER_ROLE,
            policies.member_producer_policy,
            policies.admin_producer_role,
            policies.admin_producer_trust,
            policies.admin_producer_policy,
        ),
        (
            consumers,
            policies.CONSUMER_ROLE,
            policies.member_consumer_policy,
            policies.admin_consumer_role,
            policies.admin_consumer_trust,
            policies.admin_consumer_policy,
        ),
    )
    for members, member_role, member_policy, admin_role, admin_trust, admin_policy in sides:
        for a in members:
            roles.append(
                RoleLayout(a, member_role, policies.member_trust(a), member_policy(a, m, region))
            )
            roles.append(
                RoleLayout(m, admin_role(a), admin_trust(a), admin_policy(m, a, region, table))
            )
    return roles


# --- the users and groups beside the roles (``mesh.iam_users``) ----------------------------------


def user_arn(account_id: str, user_name: str) -> str:
    """The ARN of the user beside a mesh role (``mesh.iam_users``), at the role's path."""
    return f"arn:aws:iam::{account_id}:user{MESH_ROLE_PATH}{user_name}"


def trusting(trust: Document, principal: str) -> Document:
    """``trust`` with ``principal`` added to its statement's principals (the role's own user).

    IAM refuses a trust policy that names a principal which does not exist, so the user must be
    created before the role names it (the plan orders IAM_USER before ROLE).
    """
    (statement,) = trust["Statement"]
    principals = sorted({*statement["Principal"]["AWS"], principal})
    return {**trust, "Statement": [{**statement, "Principal": {"AWS": principals}}]}
