# joinedup: `make demo` and `make test` work on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup demo test test-deps lint typecheck unit bench clean lock
# One step at a time: `make test` must stop at test-deps before lint when it cannot install.
.NOTPARALLEL:

setup: $(STAMP)
	@# GOV.UK Frontend from a pinned, checksummed npm tarball (issue 7; no npm needed)
	@$(BIN)/python -m joinedup.web.assets

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "joinedup needs Python 3.11 or newer: set PYTHON=python3.11 (or newer) and run make again")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing joinedup and its pinned dependencies into $(VENV) ..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock \
		> $(VENV)/pip.log 2>&1 || { grep -v '^WARNING: Location' $(VENV)/pip.log; exit 1; }
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . \
		> $(VENV)/pip.log 2>&1 || { grep -v '^WARNING: Location' $(VENV)/pip.log; exit 1; }
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: setup
	$(BIN)/joinedup demo

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: setup
	$(BIN)/mypy

# What the tests need beyond .venv (issue 11): Chromium, poppler-utils, Java 17, the spark
# extra and a PostgreSQL server. Installed when missing and this user can (root or
# password-free sudo); otherwise make stops here, naming the commands to run. It writes
# $(VENV)/test-env (JOINEDUP_TEST_PG_URL), which `unit` reads. See README "Running the tests".
test-deps: setup
	@bash scripts/test-deps.sh --venv $(VENV)

unit: setup test-deps
	@$(BIN)/python -m joinedup.web.assets --dev  # + axe-core for the browser tests (issue 7)
	. ./$(VENV)/test-env && $(BIN)/python -m pytest -q

test: test-deps lint typecheck unit

bench: setup
	$(BIN)/python benchmarks/synth_build.py

# Re-pin dependencies after editing pyproject.toml (maintainers only).
lock:
	rm -rf /tmp/joinedup-lock && $(PYTHON) -m venv /tmp/joinedup-lock
	/tmp/joinedup-lock/bin/pip install --quiet --disable-pip-version-check --upgrade setuptools wheel
	/tmp/joinedup-lock/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	/tmp/joinedup-lock/bin/pip freeze --all --exclude-editable | grep -v -e '^joinedup' -e '^pip==' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
