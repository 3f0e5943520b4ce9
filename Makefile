# `make demo` and `make test` set up everything they need on a fresh machine.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --constraint constraints.txt

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test test-slow lint wheel-check install dev browser postgres bench bench-full audit lock docs clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(PY)
	$(PIP) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt $(VENV)/.installed
	$(PIP) -e ".[dev]"
	touch $@

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

demo: install
	$(VENV)/bin/surveyless demo

# The report's browser test needs Chromium: Debian's package, installed when missing.
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null)

# The SQL source test runs a real PostgreSQL server: Debian's package, installed when missing.
postgres:
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null)

# The fast lane (under 10 minutes on 2 cores): everything but the end-to-end runs marked slow. Random order.
test: dev lint
	$(PY) -m pytest -m "not slow"

# The rest of CI's full lane: the slow end-to-end runs (Prefect, MLflow, PostgreSQL, Chromium, Dask).
test-slow: dev browser postgres
	$(PY) -m pytest -m slow

lint: dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The package as a user gets it: a wheel (not editable) in a fresh venv, `surveyless demo` run from another folder.
WHEEL_CHECK ?= /tmp/surveyless-wheel-check
wheel-check:
	rm -rf $(WHEEL_CHECK) && $(PYTHON) -m venv $(WHEEL_CHECK)/venv
	rm -rf build && $(WHEEL_CHECK)/venv/bin/python -m pip install --quiet --constraint constraints.txt . && rm -rf build
	mkdir -p $(WHEEL_CHECK)/elsewhere && cd $(WHEEL_CHECK)/elsewhere && $(WHEEL_CHECK)/venv/bin/surveyless demo
	test -f $(WHEEL_CHECK)/elsewhere/work/predictions/latest

# Benchmarks into bench/results/ (real data from ../shared/data): quick under 5 minutes, full for the committed results.
$(VENV)/.installed-bench: pyproject.toml constraints.txt $(VENV)/.installed
	$(PIP) -e ".[bench]"
	touch $@

bench: $(VENV)/.installed-bench
	$(PY) bench/run.py quick

bench-full: $(VENV)/.installed-bench
	$(PY) bench/run.py full

# Known vulnerabilities in the installed, locked dependencies; exits 1 on a finding. Packages the
# advisory service cannot be asked about (no network to it) are listed as not audited.
$(VENV)/.installed-audit: pyproject.toml constraints.txt $(VENV)/.installed
	$(PIP) -e ".[audit]"
	touch $@

audit: $(VENV)/.installed-audit
	$(VENV)/bin/pip-audit --local --skip-editable --progress-spinner off --desc

# Refresh constraints.txt from a working environment (run after changing dependencies, then `make test`).
lock: dev
	$(PY) -m pip freeze --exclude-editable | grep -v '^surveyless' > constraints.txt

# Regenerate README's contract, feature and prediction tables and the prediction JSON Schema from the declarations in code.
docs: install
	$(PY) -c "from pipelines.docs import update_docs; update_docs()"

clean:
	rm -rf work .pytest_cache
