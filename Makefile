# Two set-up commands: `make run` and `make test`. Both create .venv on first use.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# CPU torch pinned: an unpinned resolution pulls gigabytes of CUDA wheels.
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export WANDB_MODE ?= offline
PYTEST_ARGS ?=

.PHONY: help venv sandbox-deps run test test-full lint format figures bench train clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "installing into $(VENV) (log: $(VENV)/install.log)"
	@$(BIN)/python -m pip install "torch==2.13.0" > $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@$(BIN)/python -m pip install -e ".[dev]" >> $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@touch $(STAMP)

venv: $(STAMP) sandbox-deps ## create .venv and install the package (pinned CPU torch)

# The code sandbox (HumanEval/MBPP) confines generated code with bubblewrap; install it once.
sandbox-deps: ## install bubblewrap (bwrap) for the code sandbox when missing (apt, as root)
	@if ! command -v bwrap >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing bubblewrap (code sandbox)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
	  else \
	    echo "WARNING: bwrap is missing: code tasks will refuse to run until bubblewrap is installed" \
	      "(sudo apt-get install -y bubblewrap) or TIE_SANDBOX=weak is set"; \
	  fi; \
	fi

run: $(STAMP) ## the main job: testbed comparison on the shipped zoo (CPU, a few minutes)
	$(BIN)/tie-run $(ARGS)

test: $(STAMP) sandbox-deps ## fast test tier
	$(BIN)/python -m pytest -m "not slow" -q $(PYTEST_ARGS)

test-full: $(STAMP) sandbox-deps ## every test, slow ones included
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP) ## ruff
	$(BIN)/ruff check src tests analysis experiments notebooks
	$(BIN)/ruff format --check src tests analysis experiments notebooks

format: $(STAMP) ## ruff format + fixes
	$(BIN)/ruff check --fix src tests analysis experiments notebooks
	$(BIN)/ruff format src tests analysis experiments notebooks

train: $(STAMP) ## retrain a zoo member: make train MEMBER=<name>
	$(BIN)/tie-train member=$(MEMBER) $(ARGS)

figures: $(STAMP) ## every figure/table a run supports: make figures RUN=<run dir>
	$(BIN)/python -m analysis.figures $(RUN)

bench: $(STAMP) ## performance harness
	$(BIN)/python -m tie.bench $(ARGS)

clean: ## remove caches (keeps .venv)
	rm -rf .pytest_cache .ruff_cache outputs multirun
