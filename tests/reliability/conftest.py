"""Fixtures of the reliability suite: the example mesh, seeded, in-process or behind the server.

Shared helpers (invariant checks, running the CLI) live in ``_mesh.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from support.faults import fast_retries
from support.sandbox import InProcessSandbox, ServerSandbox

from meshctl.sandbox.seed import seed_producers
from meshctl.spec.load import load_spec
from meshctl.spec.model import MeshSpec

from ._mesh import EXAMPLE


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselected (reported), never skipped: under the full crash sweep, its sample (redundant);
    without MESHCTL_DEPLOYER_EACH=1, the exhaustive deployer-policy proof (`make reliability` runs
    it; `make test` runs the fast proof in tests/integration/test_deployer_policy.py)."""
    from .test_crash import FULL_SWEEP

    def unwanted(item: pytest.Item) -> bool:
        if FULL_SWEEP and item.get_closest_marker("crash_sample"):
            return True
        return (
            os.environ.get("MESHCTL_DEPLOYER_EACH") != "1"
            and item.path.name == "test_deployer_policy_each.py"
        )

    dropped = [item for item in items if unwanted(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


# In-process tests run on a fixed day, so `expires` in the example never moves under them.
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def example_spec() -> MeshSpec:
    return load_spec(EXAMPLE)


@pytest.fixture
def seeded(sandbox: InProcessSandbox, example_spec: MeshSpec) -> InProcessSandbox:
    """In-process sandbox with the example's producers holding their source tables."""
    seed_producers(example_spec, sandbox.session)
    return sandbox


@pytest.fixture
def seeded_server(sandbox_server: ServerSandbox, example_spec: MeshSpec) -> ServerSandbox:
    """The (emptied) sandbox server with the example's producers seeded."""
    seed_producers(example_spec, sandbox_server.session)
    return sandbox_server


@pytest.fixture
def quick_retries() -> Iterator[None]:
    """botocore's retry backoff and adaptive rate limiter, time-dilated 100x."""
    with fast_retries(0.01):
        yield
