# The two commands of the README: `make run` (the platform with a demo feed) and `make test` (every test).
SHELL := /bin/bash
# Evaluated at each use, so it finds uv once check-prereqs has installed it.
UV = $(shell command -v uv 2>/dev/null || echo python3.11 -m uv)
BIN := .venv/bin

.PHONY: run test setup prereqs test-prereqs lint unit integration stack-up stack-down clean

run: setup
	$(BIN)/sgs demo

test: setup test-prereqs lint stack-up
	$(BIN)/pytest

setup: prereqs
	$(UV) sync --locked
	$(BIN)/sgs stack fetch
	npm ci --prefix deploy/web --no-audit --no-fund --loglevel=error

prereqs:
	@scripts/check-prereqs $(if $(CI),--install)

test-prereqs:
	@scripts/check-prereqs --tests $(if $(CI),--install)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy -p sgs -p tests

unit:
	$(BIN)/pytest tests/unit

integration: stack-up
	$(BIN)/pytest tests/integration

stack-up:
	$(BIN)/sgs stack up

stack-down:
	$(BIN)/sgs stack down

clean: stack-down
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache test-artifacts
