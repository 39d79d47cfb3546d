"""How long the sandbox takes to hold N Lake Formation grants: batch grant in chunks of 20, then
read them all back with ListPermissions pages of 1000. Prints a table; asserts nothing.

Run: .venv/bin/python bench/sandbox_grants.py [N ...]   (default 1000 5000 20000)

Grants go to roles of the mesh account and, for a tenth of the principals, to other accounts
(those also create RAM shares and invitations, as cross-account grants do in AWS).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import _tests_path  # noqa: F401  (tests/support on the path)
from support.sandbox import ProcessEnv, in_process_sandbox, server_sandbox

MESH = "555555555555"
DB = "bench"
TABLES = 200
CHUNK = 20
PAGE = 1000


@contextmanager
def in_process() -> Iterator[Callable[[str], Any]]:
    env = ProcessEnv()
    try:
        with in_process_sandbox(env) as sandbox:
            yield sandbox.session
    finally:
        env.restore()


@contextmanager
def through_server() -> Iterator[Callable[[str], Any]]:
    with server_sandbox() as server:
        yield server.session


def _principals(count: int) -> list[str]:
    accounts = max(1, count // 10)
    return [f"{700000000000 + i}" for i in range(accounts)] + [
        f"arn:aws:iam::{MESH}:role/Analyst{i}" for i in range(count - accounts)
    ]


def run(n: int, sandbox: Callable[[], Any]) -> tuple[float, float, int, int]:
    with sandbox() as session_for:
        session = session_for(MESH)
        glue, lf = session.client("glue"), session.client("lakeformation")
        glue.create_database(DatabaseInput={"Name": DB})
        for t in range(TABLES):
            glue.create_table(DatabaseName=DB, TableInput={"Name": f"t{t:03d}"})
        principals = _principals(max(1, n // TABLES))
        entries = [
            {
                "Id": str(i),
                "Principal": {"DataLakePrincipalIdentifier": principals[i // TABLES]},
                "Resource": {
                    "Table": {"CatalogId": MESH, "DatabaseName": DB, "Name": f"t{i % TABLES:03d}"}
                },
                "Permissions": ["SELECT", "DESCRIBE"],
            }
            for i in range(n)
        ]

        started = time.perf_counter()
        for at in range(0, n, CHUNK):
            failures = lf.batch_grant_permissions(Entries=entries[at : at + CHUNK])["Failures"]
            if failures:
                raise SystemExit(f"unexpected failures: {failures[:1]}")
        granted = time.perf_counter() - started

        started, listed, pages, token = time.perf_counter(), 0, 0, None
        while True:
            kwargs: dict[str, Any] = {"MaxResults": PAGE} | ({"NextToken": token} if token else {})
            answer = lf.list_permissions(**kwargs)
            listed += len(answer["PrincipalResourcePermissions"])
            pages += 1
            token = answer.get("NextToken")
            if not token:
                break
        return granted, time.perf_counter() - started, pages, listed


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1000, 5000, 20000]
    print(
        f"{'grants':>7} {'mode':<10} {'batch grant':>12} {'list all':>9} {'pages':>6} {'listed':>7}"
    )
    for n in sizes:
        for mode, sandbox in (("in-process", in_process), ("server", through_server)):
            granted, listing, pages, listed = run(n, sandbox)
            print(f"{n:>7} {mode:<10} {granted:>11.2f}s {listing:>8.2f}s {pages:>6} {listed:>7}")
            sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
