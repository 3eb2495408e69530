VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run test quick lint typecheck unit mutation bench clean image image-wheels image-test

setup:
	@VENV=$(VENV) ./scripts/bootstrap

## run: set up, then verify the bundled sample images against the sample policy
run: setup
	@$(BIN)/sigverify demo

## test: set up, then lint, type-check and run the whole test suite (full ci budgets)
test: setup lint typecheck unit

## quick: the fast tests only (no slow ones, dev budgets); see docs/testing.md
## Bytecode is kept in .cache/pycache even where the environment says not to write it
## (PYTHONDONTWRITEBYTECODE): compiling the package and the tests again costs ~11 s a run.
quick:
	PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/.cache/pycache \
		$(BIN)/pytest -q -m "not slow" -n auto

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

## image: the container image (Containerfile) with buildah, else podman. BASE: a Debian 12
## image; IMAGE: the name to tag. The Python packages come from .cache/image/wheels.
IMAGE ?= localhost/sigverify:0.1.0
BASE ?= debian:bookworm-slim
BUILDER ?= $(shell command -v buildah >/dev/null 2>&1 && echo buildah || echo podman)

image-wheels: setup
	rm -rf .cache/image/wheels
	$(BIN)/pip wheel -q --disable-pip-version-check --no-build-isolation --wheel-dir .cache/image/wheels .

image: image-wheels
	$(BUILDER) build --network host --pull=false -f Containerfile \
	  --build-arg BASE=$(BASE) --build-arg REVISION=$$(git rev-parse --short HEAD 2>/dev/null || echo unknown) \
	  -t $(IMAGE) .

## image-test: build the image on a base made from Debian's packages (no container registry)
## and run the server in it (tests/test_image.py). Not part of `make test`: docs/install.md.
image-test: setup
	@command -v buildah >/dev/null 2>&1 && command -v debootstrap >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah debootstrap >/dev/null; }
	SIGVERIFY_IMAGE_TEST=1 BUILDAH_ISOLATION=chroot $(BIN)/pytest -q tests/test_image.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
