# Two commands for a fresh machine: `make demo` and `make test`. Both create .venv if needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mobilegan-installed

.PHONY: demo test test-fast bench venv clean-venv web-deps

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,litert]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/mobilegan demo

# Every test, on TEST_WORKERS processes with one thread each (tests/conftest.py); --dist loadfile keeps a
# file on one worker, so its module fixtures (exports, the shortened demo) are built once.
TEST_WORKERS ?= 2

test: $(STAMP) web-deps
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15

# The inner loop: the unit tests, without those marked slow (exports, training, the pipeline, the browser).
test-fast: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow" --durations=5

bench: $(STAMP)
	$(PY) -m pytest -q bench --import-mode=importlib --benchmark-only --benchmark-autosave

clean-venv:
	rm -rf $(VENV)

# Web app test set-up: Debian's chromium (driven by playwright-core; never `npx playwright install`)
# and the pinned npm packages of apps/web (package-lock.json). Runs as root on the test machines.
WEB := apps/web
CHROMIUM := /usr/bin/chromium

web-deps: $(CHROMIUM) $(WEB)/node_modules/.package-lock.json

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "web-deps: no apt-get: install chromium so that $(CHROMIUM) exists" >&2; exit 1; }
	apt-cache show chromium >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium

$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	@command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs
	@command -v npm >/dev/null || { echo "web-deps: npm not found: install Node.js >= 20 with npm" >&2; exit 1; }
	cd $(WEB) && npm ci --no-audit --no-fund
	@touch $@
