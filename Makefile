# Every target creates/uses .venv, so a fresh machine needs nothing but python3 (and node for the
# Node client tests).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_CLIENTS := tests/clients/node_modules/.package-lock.json

.PHONY: serve test lint fmt bench install node-clients recordings protocol clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,fast]'
	touch $(STAMP)

install: $(STAMP)

$(NODE_CLIENTS): tests/clients/package.json tests/clients/package-lock.json
	@if command -v npm >/dev/null 2>&1; then cd tests/clients && npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: Node client tests will be skipped"; fi

node-clients: $(NODE_CLIENTS)

serve: $(STAMP)
	$(BIN)/ddp-e2e serve --host 127.0.0.1 --port 3000 --fixtures fixtures/demo

test: $(STAMP) node-clients
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

fmt: $(STAMP)
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/store_bench.py

# Re-record fixtures/recordings/ with every real client through the recording proxy.
recordings: $(STAMP) node-clients
	$(BIN)/python -m ddp_e2e.replay.make_fixtures

# Regenerate protocol/e2e/*.json, docs/E2EE-API.md and README's E2EE API section from the code.
protocol: $(STAMP)
	$(BIN)/python -m ddp_e2e.protocol_export

clean:
	rm -rf $(VENV) tests/clients/node_modules bench/node_modules
