VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test quick lint typecheck unit mutation bench clean

setup:
	@VENV=$(VENV) ./scripts/bootstrap

## run: set up, then verify the bundled sample images against the sample policy
run: setup
	@$(BIN)/sigverify demo

## test: set up, then lint, type-check and run the whole test suite (full ci budgets)
test: setup lint typecheck unit

## quick: the fast tests only (no slow ones, dev budgets); see docs/testing.md
quick:
	$(BIN)/pytest -q -m "not slow"

lint:
	$(BIN)/ruff check sigverify tests bench
	$(BIN)/ruff format --check sigverify tests bench

typecheck:
	$(BIN)/mypy

unit:
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest -q

## mutation: mutation testing of the trust-deciding modules, each against its own tests
## (mutmut, in scratch copies under .cache/mutation; MODULES="engine claims" for a few).
## Not part of `make test`; the scores are recorded in docs/testing.md.
mutation:
	$(BIN)/python scripts/mutation $(MODULES)

bench: setup
	$(BIN)/python -m bench
	$(BIN)/python -m bench.targets

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
