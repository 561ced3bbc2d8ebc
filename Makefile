# Room Snapshots. `make run` starts it on the emulator (infra/); `make test` runs every check.
PYTHON ?= python3
VENV := .venv
VENV_SAM := .venv-sam
PY := $(VENV)/bin/python
# The emulator (infra/template_emulator) is imported from its folder, not installed.
APP_PY := PYTHONPATH=infra $(PY)
PORT ?= 3000

.PHONY: run test test-unit test-emulator token fire bench bench-live lint lint-types sam-check openapi clean web browser-deps pdf-deps deploy cost capacity fonts

# The web app's inputs: a build runs again only when one of them changes.
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/tsconfig.json web/vite.config.ts web/.prettierrc.json

# The first run installs the pinned requirements (a few minutes, once): pip shows what it fetches.
$(VENV)/.installed: requirements.txt requirements-dev.txt infra/requirements.txt layers/common/python/requirements.txt functions/*/requirements.txt
	@echo "Creating $(VENV) and installing the pinned requirements (once; a few minutes)..."
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --progress-bar on --upgrade pip
	$(PY) -m pip install --progress-bar on -r requirements-dev.txt
	@echo "$(VENV) is ready."
	touch $@

# The stack keeps its state in .local/state/$(PORT)/ across restarts; FRESH=1 starts it empty.
run: $(VENV)/.installed web
	$(APP_PY) -m scripts.local run --port $(PORT) $(if $(FRESH),--fresh)

test: $(VENV)/.installed web browser-deps pdf-deps lint sam-check test-emulator
	$(PY) -m pytest -q tests

# The emulator's own tests, alone: from its folder, with nothing of the application importable.
test-emulator: $(VENV)/.installed
	cd infra && ../$(PY) -m pytest -q

# The bottom of the pyramid alone: the services against in-memory fakes, the report. Seconds, no network.
test-unit: $(VENV)/.installed pdf-deps
	$(PY) -m pytest -q -m unit tests

# cfn-lint with our own rules (cfn_rules/: log groups with retention, DLQs, no IAM wildcards, a
# private TLS-only bucket), ruff (lint and format), mypy, and the web app's formatting (prettier).
lint: $(VENV)/.installed web/node_modules/.package-lock.json
	$(VENV)/bin/cfn-lint template.yaml --append-rules cfn_rules
	cd web && npm run --silent lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(MAKE) --no-print-directory lint-types

lint-types: $(VENV)/.installed
	$(VENV)/bin/mypy layers/common/python infra/template_emulator $(wildcard functions/*/*/)

# The browser app (web/): npm ci from the lockfile, then a Vite build into web/dist, which the emulator serves.
web: web/dist/index.html

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web && npm run build

# What the browser tests (tests/browser) drive: Debian's Chromium, as Playwright cannot download its own
# browsers here; the playwright package itself comes with requirements-dev.txt.
browser-deps: $(VENV)/.installed
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

# What the PDF tests look at pages and validate signatures with: poppler's pdftoppm and pdfsig, and certutil
# for the NSS database through which pdfsig trusts the development CA (Debian's poppler-utils, libnss3-tools).
pdf-deps:
	@test -x /usr/bin/pdftoppm -a -x /usr/bin/pdfsig -a -x /usr/bin/certutil || \
		(apt-get update && apt-get install -y poppler-utils libnss3-tools)

# Rebuilds the report fonts from their pinned Debian and npm sources (functions/renderer/renderer/fonts/README.md).
fonts: $(VENV)/.installed
	$(PY) -m scripts.build_fonts

# `sam validate --lint` and `sam build` (no container) in their own virtualenv, then checks that
# each function's build holds what it imports and nothing it does not.
sam-check:
	scripts/sam_build_check.sh

# Prints a development JWT for the stack on PORT and nothing else: PORT=3000 make -s token EMAIL=someone@example.com [ADMIN=1]
token: $(VENV)/.installed
	@$(APP_PY) -m scripts.local token --port $(PORT) --email "$(EMAIL)" $(if $(ADMIN),--admin)

# Fires a schedule of the running stack now: make fire FUNCTION=CleanupFunction
fire: $(VENV)/.installed
	@$(APP_PY) -m scripts.local fire --port $(PORT) $(FUNCTION)

# Regenerates docs/openapi.json from the code (a contract test fails while they differ).
openapi: $(VENV)/.installed
	$(APP_PY) -m scripts.openapi

bench: $(VENV)/.installed
	$(APP_PY) -m scripts.bench

# How soon an open room page shows a finished snapshot over the live channel: p50/p95/max from the renderer's
# completion to the page's 100 %, the channel's messages per snapshot and the polls made (it asserts nothing).
bench-live: $(VENV)/.installed web browser-deps
	$(APP_PY) -m scripts.live_delay

# To your AWS account (credentials from the environment): the stack, then the web app into its bucket.
# (sam-check builds into .aws-sam/build, which sam deploy takes.)
deploy: $(VENV)/.installed web sam-check
	$(VENV_SAM)/bin/sam deploy $(if $(GUIDED),--guided)
	$(APP_PY) -m scripts.publish_web

# What a snapshot costs in AWS: a known workload through the local stack, every request counted
# and priced with infra/template_emulator/prices.toml (docs/cost.md).
cost: $(VENV)/.installed
	$(APP_PY) -m scripts.cost

# What breaks first at 100, 1,000 and 10,000 snapshots/s: make cost's per-snapshot counts against AWS's
# documented quotas (scripts/aws_quotas.toml) and the template's settings (docs/capacity.md). Reads the
# counts of the last make cost; BEFORE=1 as before the unfinished-task index was sharded.
capacity: $(VENV)/.installed
	$(APP_PY) -m scripts.capacity $(if $(BEFORE),--before)

clean:
	rm -rf $(VENV) .venv-sam .local .aws-sam web/node_modules web/dist
