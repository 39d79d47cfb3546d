"""IAM refuses to delete users and groups that something still depends on, as AWS does.

AWS answers DeleteConflict (HTTP 409) instead of deleting:

- DeleteUser while the user has a login profile ("must delete login profile first."), access keys
  ("must delete access keys first."), inline policies ("must delete policies first."), attached
  managed policies ("must detach all policies first.") or is in a group ("must remove users from
  group first."). Each message starts "Cannot delete entity, ".
- DeleteGroup while the group has members ("must remove users from group first."), inline policies
  ("must delete policies first.") or attached managed policies ("must detach all policies first.").

moto 5.2.5 refused only a user's policies: it deleted a user with a password, access keys or group
memberships (leaving the deleted user listed in its groups), and deleted any group outright. The
checks run in the backend, so in-process sandboxes, moto's server and CloudFormation deletes all
see them. The order follows AWS's DeleteUser documentation (password, keys, policies, groups);
AWS does not document which conflict it reports first when there are several.
"""

from __future__ import annotations

from typing import Any

from moto.iam.exceptions import DeleteConflictException
from moto.iam.models import IAMBackend

_MARKER = "_meshctl_delete_conflicts"


def _conflict(what: str) -> Exception:
    error: Exception = DeleteConflictException(f"Cannot delete entity, must {what} first.")
    return error


def user_conflict(backend: Any, user: Any) -> Exception | None:
    """The DeleteConflict AWS answers for deleting ``user``, or None when nothing depends on it."""
    if user.password:
        return _conflict("delete login profile")
    if user.access_keys:
        return _conflict("delete access keys")
    if user.policies:
        return _conflict("delete policies")
    if user.managed_policies:
        return _conflict("detach all policies")
    if any(user in group.users for group in backend.groups.values()):
        return _conflict("remove users from group")
    return None


def group_conflict(group: Any) -> Exception | None:
    """The DeleteConflict AWS answers for deleting ``group``, or None when it is empty."""
    if group.users:
        return _conflict("remove users from group")
    if group.policies:
        return _conflict("delete policies")
    if group.managed_policies:
        return _conflict("detach all policies")
    return None


def _wrap_delete_user(original: Any) -> Any:
    def delete_user(self: Any, user_name: str) -> None:
        # get_user raises NoSuchEntity for an unknown user, before any conflict, as AWS does.
        conflict = user_conflict(self, self.get_user(user_name))
        if conflict is not None:
            raise conflict
        original(self, user_name)

    setattr(delete_user, _MARKER, True)
    return delete_user


def _wrap_delete_group(original: Any) -> Any:
    def delete_group(self: Any, group_name: str) -> None:
        group = self.groups.get(group_name)
        # An unknown group falls through to moto, which answers NoSuchEntity.
        conflict = group_conflict(group) if group is not None else None
        if conflict is not None:
            raise conflict
        original(self, group_name)

    setattr(delete_group, _MARKER, True)
    return delete_group


def install() -> None:
    """Wrap IAMBackend.delete_user and delete_group; a second call changes nothing."""
    backend: Any = IAMBackend
    if not getattr(backend.delete_user, _MARKER, False):
        backend.delete_user = _wrap_delete_user(backend.delete_user)
    if not getattr(backend.delete_group, _MARKER, False):
        backend.delete_group = _wrap_delete_group(backend.delete_group)
