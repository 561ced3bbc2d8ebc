# Room Snapshots. `make run` starts the local stack; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 3000

.PHONY: run test test-unit token fire bench lint lint-types sam-check openapi clean

$(VENV)/.installed: requirements.txt requirements-dev.txt layers/common/python/requirements.txt functions/*/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	PORT=$(PORT) $(PY) -m infra run

test: $(VENV)/.installed lint sam-check
	$(PY) -m pytest -q tests

# The bottom of the pyramid alone: the services against in-memory fakes, the report, the local
# stack's parts. Seconds, no network.
test-unit: $(VENV)/.installed
	$(PY) -m pytest -q -m unit tests

# cfn-lint with our own rules (cfn_rules/: log groups with retention, DLQs, no IAM wildcards, a
# private TLS-only bucket), ruff (lint and format) and mypy. Each function is type-checked on its
# own, with its code root on the path as Lambda has it (every function has a `handler` module).
FUNCTIONS := $(notdir $(wildcard functions/*))
lint: $(VENV)/.installed
	$(VENV)/bin/cfn-lint template.yaml --append-rules cfn_rules
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MAKE) --no-print-directory lint-types

lint-types: $(VENV)/.installed
	$(VENV)/bin/mypy layers/common/python infra
	@for function in $(FUNCTIONS); do \
		echo "mypy functions/$$function"; \
		MYPYPATH=functions/$$function $(VENV)/bin/mypy functions/$$function || exit 1; \
	done

# `sam validate --lint` and `sam build` (no container) in their own virtualenv, then checks that
# each function's build holds what it imports and nothing it does not.
sam-check:
	scripts/sam_build_check.sh

# Prints a development JWT and nothing else: make -s token EMAIL=someone@example.com [ADMIN=1]
token: $(VENV)/.installed
	@$(PY) -m infra token --email "$(EMAIL)" $(if $(ADMIN),--admin)

# Fires a schedule of the running stack now: make fire FUNCTION=CleanupFunction
fire: $(VENV)/.installed
	@$(PY) -m infra fire $(FUNCTION)

# Regenerates docs/openapi.json from the code (a contract test fails while they differ).
openapi: $(VENV)/.installed
	$(PY) -m tests.contract.openapi

bench: $(VENV)/.installed
	$(PY) -m tests.bench

clean:
	rm -rf $(VENV) .venv-sam .local .aws-sam
