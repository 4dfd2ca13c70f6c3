# cxlab — run `make help` for the list of targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CLIENTS ?= data/sample
OUT ?= reports

.PHONY: help demo test test-fast lab sample bench bench-compare validate lint format clean browser docs

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "; printf "cxlab targets:\n"} /^[a-zA-Z_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed

demo: $(VENV)/.installed ## Set up, make the sample clients if missing, render every client's report and reports/index.html
	@test -f $(CLIENTS)/bookshop/client.toml || $(BIN)/cxlab sample --out $(CLIENTS)
	$(BIN)/cxlab validate $(CLIENTS) --all --summary
	$(BIN)/cxlab batch $(CLIENTS) --out $(OUT) --resume
	@echo "Open $(OUT)/index.html in a browser (works offline)."

# make test runs two pytest workers (xdist): each file stays on one worker, files that share a
# rendered fixture go together, the explorers split per notebook (tests/conftest.py).
# TEST_WORKERS=0 runs one process (e.g. to debug with pdb).
TEST_WORKERS ?= 2

test: $(VENV)/.installed-test browser ## Set up and run the whole test suite (what CI runs)
	$(BIN)/python -m pytest $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

test-fast: $(VENV)/.installed-test ## All but slow/e2e/notebook/browser tests (~1 CPU-min; 2.5-4.5 min when shared)
	$(BIN)/python -m pytest -m "not (slow or e2e or notebook or browser)"

docs: $(VENV)/.installed-test ## Build the documentation site into site/ (strict: any warning fails; offline)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

browser: ## Install Debian's chromium for the report browser tests, when missing
	@bash scripts/ensure-chromium.sh

lab: $(VENV)/.installed ## Open the explorers in JupyterLab, offline (CLIENTS=your clients folder; default: samples)
	@test -f data/sample/bookshop/client.toml || $(BIN)/cxlab sample --out data/sample
	@# saving a notebook keeps its widgets' state: the explorer's charts draw when it is reopened
	@mkdir -p $(VENV)/share/jupyter/lab/settings && printf '%s\n' \
	  '{"@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": true}}' \
	  > $(VENV)/share/jupyter/lab/settings/overrides.json
	CXLAB_CLIENTS="$(abspath $(if $(filter command line,$(origin CLIENTS)),$(CLIENTS),$(or $(CXLAB_CLIENTS),$(CLIENTS))))" \
	  $(BIN)/jupyter lab --notebook-dir=notebooks/explore --LabApp.extension_manager=readonly \
	  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

sample: $(VENV)/.installed ## (Re)generate the sample clients in data/sample
	$(BIN)/cxlab sample --out $(CLIENTS)

validate: $(VENV)/.installed ## Print the validation report of every sample client
	$(BIN)/cxlab validate $(CLIENTS) --all

bench: $(VENV)/.installed-test ## Run the benchmark suite (see benchmarks/README.md)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_retention.py
	$(BIN)/python benchmarks/bench_explorers.py

bench-compare: $(VENV)/.installed-test ## make bench's pipeline against OLD=<commit> (default: before the redesign)
	$(BIN)/python benchmarks/run.py --old $(or $(OLD),auto)

lint: $(VENV)/.installed-test ## ruff over the package, tests and notebooks
	$(BIN)/ruff check cxlab tests benchmarks notebooks
	$(BIN)/ruff format --check cxlab tests benchmarks notebooks

clean: ## Remove the virtualenv, caches and rendered reports
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis site
	find reports -mindepth 1 ! -name README.md -exec rm -rf {} +
