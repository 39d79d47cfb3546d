"""The CLI tests' sandbox: a moto server with the example's producers seeded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cli import Listener
from support.sandbox import ServerSandbox

from meshctl.sandbox.seed import seed_producers
from meshctl.spec.load import load_spec

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mesh.yaml"


@pytest.fixture
def server(sandbox_server: ServerSandbox) -> ServerSandbox:
    seed_producers(load_spec(EXAMPLE), sandbox_server.session)
    return sandbox_server


@pytest.fixture
def listener() -> Iterator[Listener]:
    """A closed-for-business AWS endpoint that counts the connections made to it."""
    found = Listener()
    yield found
    found.sock.close()
