"""The catalog in a real headless Chromium (``make test-browser``; not part of ``make test``).

Debian's ``chromium`` (``/usr/bin/chromium``, or ``MESHCTL_CHROMIUM``) driven by Playwright
through ``executable_path``: Playwright never downloads a browser of its own here. Each session
gets a fresh profile folder. The site is the example mesh's (one approval expiring in 5 days),
written by ``meshctl catalog`` against the sandbox (so product pages show live columns), opened
from ``file://``.
Screenshots of each page kind go to ``build/screenshots/``, printed at the end of the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright
from support.sandbox import ServerSandbox, run_meshctl

from meshctl.sandbox.seed import seed_producers
from meshctl.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "mesh.yaml"
SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = Path(os.environ.get("MESHCTL_CHROMIUM", "/usr/bin/chromium"))
# No network, no first-run UI, no background downloads: the pages are all there is.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def site(sandbox_server_session: ServerSandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example mesh's catalog, live (the sandbox's producers seeded), as a user writes it."""
    sandbox_server_session.reset()
    seed_producers(load_spec(EXAMPLE), sandbox_server_session.session)
    work = tmp_path_factory.mktemp("catalog")
    # finance's access to sales.orders ends in 5 days: the map then shows all four statuses
    soon = (datetime.now(UTC).date() + timedelta(days=5)).isoformat()
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "expires: 2027-12-31" in text
    (work / "mesh.yaml").write_text(text.replace("expires: 2027-12-31", f"expires: {soon}"))
    done = run_meshctl(
        "catalog",
        "--out",
        "site",
        "--repo-url",
        "https://github.com/acme/mesh",
        env=sandbox_server_session.env,
        cwd=work,
    )
    assert done.returncode == 0, done.stderr
    return work / "site"


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make test-browser` installs it"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh --user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    """A tab that fails the test on a script error or a resource that did not load."""
    tab = browser.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on("requestfailed", lambda request: problems.append(f"not loaded: {request.url}"))
    tab.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    yield tab
    tab.close()
    assert problems == []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    shots = sorted(SCREENSHOTS.glob("*.png")) if SCREENSHOTS.is_dir() else []
    if shots:
        terminalreporter.write_sep("-", f"screenshots in {SCREENSHOTS}/")
        for shot in shots:
            terminalreporter.write_line(f"{shot}  ({shot.stat().st_size:,} bytes)")
