"""Fixtures for the sandbox's own tests: a mesh catalog with a database and two tables."""

from __future__ import annotations

import pytest
from support.sandbox import InProcessSandbox

from ._support import MeshCatalog, make_mesh_catalog


@pytest.fixture
def mesh(sandbox: InProcessSandbox) -> MeshCatalog:
    return make_mesh_catalog(sandbox)
