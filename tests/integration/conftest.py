"""The integration tests' mesh: examples/mesh.yaml in a seeded in-process sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.sandbox import InProcessSandbox

from meshctl.engine import Engine
from meshctl.sandbox.seed import seed_producers

from ._meshfile import MeshFile
from .test_apply import Mesh


@pytest.fixture
def mesh(sandbox: InProcessSandbox, tmp_path: Path) -> Mesh:
    """examples/mesh.yaml in a temporary file, with the producers' source tables seeded."""
    file = MeshFile(tmp_path / "mesh.yaml")
    seed_producers(Engine(file.path).spec, sandbox.session)
    return Mesh(sandbox, file)


@pytest.fixture
def applied(mesh: Mesh) -> Mesh:
    """The same, with the example mesh applied once."""
    mesh.apply_ok()
    return mesh
