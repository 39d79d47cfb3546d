"""Helpers for the sandbox's own tests: account ids, resources, and listing every grant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from support.sandbox import InProcessSandbox

MESH = "555555555555"
PRODUCER = "111111111111"
CONSUMER = "999999999999"
DB = "sales-111111111111"
TABLES = ("orders", "customers")


@dataclass
class MeshCatalog:
    sandbox: InProcessSandbox
    lf: Any
    glue: Any

    def client(self, account_id: str, service: str) -> Any:
        return self.sandbox.session(account_id).client(service)


def make_mesh_catalog(sandbox: InProcessSandbox) -> MeshCatalog:
    """The mesh account with database DB holding TABLES."""
    session = sandbox.session(MESH)
    glue = session.client("glue")
    glue.create_database(DatabaseInput={"Name": DB})
    for name in TABLES:
        glue.create_table(DatabaseName=DB, TableInput={"Name": name})
    return MeshCatalog(sandbox, session.client("lakeformation"), glue)


def principal(ident: str) -> dict[str, str]:
    return {"DataLakePrincipalIdentifier": ident}


def table(name: str, catalog: str | None = MESH) -> dict[str, Any]:
    body: dict[str, Any] = {"DatabaseName": DB, "Name": name}
    if catalog:
        body["CatalogId"] = catalog
    return {"Table": body}


def database(catalog: str | None = MESH) -> dict[str, Any]:
    body: dict[str, Any] = {"Name": DB}
    if catalog:
        body["CatalogId"] = catalog
    return {"Database": body}


def list_all(lf: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Every grant, following NextToken."""
    out: list[dict[str, Any]] = []
    while True:
        answer = lf.list_permissions(**kwargs)
        out.extend(answer["PrincipalResourcePermissions"])
        if not answer.get("NextToken"):
            return out
        kwargs["NextToken"] = answer["NextToken"]
