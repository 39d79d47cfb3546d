"""What ``meshctl import`` reads: the live mesh without a mesh file.

First the mesh account, exactly as ``read_mesh`` reads it for a spec that declares nothing (the
subscription table, Lake Formation grants and settings, the mesh roles, and the mesh databases
meshctl or the helper library made). The mesh roles name the member accounts; then each producer's
catalog is read (one ``SearchTables`` pass per producer) so the importer can tell which source
database each mesh database copies. Consumers are not read: nothing in the file comes from them.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

from meshctl.aws.api import AccountApi
from meshctl.aws.read.glue import search_tables, table_from_api
from meshctl.aws.read.snapshot import MAX_WORKERS, read_mesh
from meshctl.aws.sessions import AccountSessions
from meshctl.importer.build import mesh_member_roles
from meshctl.observed import ObservedMesh, Table
from meshctl.spec.model import MeshSettings, MeshSpec


def read_for_import(
    settings: MeshSettings, sessions: AccountSessions, *, max_workers: int = MAX_WORKERS
) -> ObservedMesh:
    observed = read_mesh(MeshSpec(mesh=settings), sessions, max_workers=max_workers)
    copy_owners = {t.owner for t in observed.tables if t.account_id == observed.mesh_account_id}
    producers = {
        account_id
        for account_id, roles in mesh_member_roles(observed).items()
        if "producer" in roles
    }
    # Owners of mesh table copies are producers too, even without a mesh role left.
    producers |= {owner for owner in copy_owners if owner.isdigit() and len(owner) == 12}
    producers.discard(settings.account_id)
    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="import") as pool:
        found = list(pool.map(lambda p: _source_tables(AccountApi(sessions, p)), sorted(producers)))
    tables = observed.tables + tuple(t for group in found for t in group)
    return dataclasses.replace(observed, tables=tables)


def _source_tables(api: AccountApi) -> list[Table]:
    return [table_from_api(api.account_id, raw) for raw in search_tables(api)]
