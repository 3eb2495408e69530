VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test lint typecheck unit bench clean

setup:
	@VENV=$(VENV) ./scripts/bootstrap

## run: set up, then verify the bundled sample images against the sample policy
run: setup
	@$(BIN)/sigverify demo

## test: set up, then lint, type-check and run the whole test suite
test: setup lint typecheck unit

lint:
	$(BIN)/ruff check sigverify tests bench
	$(BIN)/ruff format --check sigverify tests bench

typecheck:
	$(BIN)/mypy

unit:
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
