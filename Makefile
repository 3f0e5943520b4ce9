# `make demo` and `make test` set up everything they need on a fresh machine.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --constraint constraints.txt

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test install dev browser postgres bench bench-full audit lock docs clean

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

test: dev browser postgres
	$(PY) -m pytest

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
