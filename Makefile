# Two commands do all the setup: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint proto fmt clean serve focus-venv system-packages node-deps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/skybatch demo

# The official FOCUS validator (a test runs it on the local cloud's bill) needs
# Python 3.12: a venv of its own, created once (idempotent; instant when present).
focus-venv:
	@bash scripts/focus-validator-venv.sh >/dev/null

# PostgreSQL (the tests start private servers) and promtool, from Debian's archive.
system-packages:
	@bash scripts/system-packages.sh

# The Node.js client test's npm packages (@grpc/grpc-js, @grpc/proto-loader), from the
# lock file; instant when present.
node-deps:
	@bash scripts/node-deps.sh

test: $(STAMP) focus-venv system-packages node-deps
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

proto: $(STAMP)
	$(BIN)/python -m scheduler.api.protogen

serve: $(STAMP)
	$(BIN)/skybatch serve

clean:
	rm -rf $(VENV) .venv-focus build *.egg-info .pytest_cache .mypy_cache .ruff_cache
