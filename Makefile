# Two commands for a newcomer: `make demo` and `make test`. Both need only Python 3.11 and make.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test lint demo bench reliability report clean install test-browser

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check meshctl tests bench
	$(BIN)/ruff format --check meshctl tests bench
	$(BIN)/mypy meshctl
	$(BIN)/lint-imports

# Two workers: the suite is mostly AWS emulation and subprocesses, and CI has two cores.
test: lint
	$(BIN)/pytest -n 2

# The catalog's pages in a real headless Chromium (tests/browser; not part of `make test`). Installs
# what is missing: Debian's chromium, and the `browser` extra (Playwright, which drives that
# executable and never downloads a browser). Screenshots go to build/screenshots/.
CHROMIUM ?= /usr/bin/chromium
BROWSER_STAMP := $(VENV)/.browser-installed

$(BROWSER_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,browser]'
	@touch $@

test-browser: $(STAMP) $(BROWSER_STAMP)
	@test -x $(CHROMIUM) || { echo "make: $(CHROMIUM) not found; installing Debian's chromium"; \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium; }
	MESHCTL_CHROMIUM=$(CHROMIUM) $(BIN)/pytest tests/browser

demo: $(STAMP)
	@PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh

bench: $(STAMP)
	@for b in bench/*.py; do case $$b in */meshgen.py|*/report.py|*/_tests_path.py) continue;; esac; \
	  echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Every crash point of a full apply (make test runs a sample of them).
reliability: $(STAMP)
	MESHCTL_CRASH_SWEEP=full MESHCTL_STATE_MACHINE_EXAMPLES=100 MESHCTL_DEPLOYER_EACH=1 $(BIN)/pytest -n 2 tests/reliability

# One markdown table of scale, fault and crash figures (bench/REPORT.md).
report: $(STAMP)
	$(BIN)/python bench/report.py --quick

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
