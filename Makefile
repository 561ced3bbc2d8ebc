# Room Snapshots. `make run` starts the local stack; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 3000

.PHONY: run test token fire bench lint clean

$(VENV)/.installed: requirements.txt requirements-dev.txt layers/common/python/requirements.txt functions/renderer/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	PORT=$(PORT) $(PY) -m infra run

test: $(VENV)/.installed lint
	$(PY) -m pytest -q tests

lint: $(VENV)/.installed
	$(VENV)/bin/cfn-lint template.yaml

# Prints a development JWT and nothing else: make -s token EMAIL=someone@example.com [ADMIN=1]
token: $(VENV)/.installed
	@$(PY) -m infra token --email "$(EMAIL)" $(if $(ADMIN),--admin)

# Fires a schedule of the running stack now: make fire FUNCTION=CleanupFunction
fire: $(VENV)/.installed
	@$(PY) -m infra fire $(FUNCTION)

bench: $(VENV)/.installed
	$(PY) -m tests.bench

clean:
	rm -rf $(VENV) .local .aws-sam
