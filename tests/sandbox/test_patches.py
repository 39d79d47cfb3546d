"""apply_patches is idempotent: calling it again changes nothing (in-process and server call it)."""

from __future__ import annotations

from moto.ram import urls as ram_urls
from support.sandbox import InProcessSandbox

from meshctl.sandbox.patches import apply_patches, patches_applied

from ._support import MESH


def test_applying_twice_keeps_one_route_and_one_wrapper(sandbox: InProcessSandbox) -> None:
    routes = dict(ram_urls.url_paths)
    apply_patches()
    apply_patches()
    assert patches_applied()
    assert ram_urls.url_paths == routes
    assert sum("getresourceshareinvitations" in path for path in routes) == 1

    glue = sandbox.session(MESH).client("glue")
    glue.put_resource_policy(PolicyInJson='{"Version": "2012-10-17", "Statement": []}')
    assert glue.get_resource_policy()["PolicyHash"]
