# schedforge: `make test` is what CI runs; `make demo` shows the main job.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
WARM := $(VENV)/.warm

.PHONY: demo test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev,jobshop,parquet]"
	touch $(STAMP)

# Compile every family's numba kernels once (numba's on-disk cache), so that
# no test or demo run starts by compiling.
$(WARM): $(STAMP)
	$(BIN)/schedforge warmup
	touch $(WARM)

# 8 SMTT methods × the 15 bundled smtt-demo instances, 0.5 s each (a run that
# hangs is killed 2 s later), 2 workers
# (single-threaded CP-SAT so 2 jobs fit 2 cores). A second run resumes: nothing
# left to do, same table. `schedforge report .demo-run` then writes the report.
demo: $(WARM)
	$(BIN)/schedforge bench suite:smtt-demo --method rule:edd --method rule:atc --method rule:mddc \
		--method ls:mddc --method ils:mddc --method exact --method "cp?threads=1" --method mip:highs \
		--time-limit 0.5 --grace 2 --jobs 2 --out .demo-run

test: $(WARM)
	$(BIN)/ruff check schedforge tests benchmarks scripts
	$(BIN)/ruff format --check schedforge tests benchmarks scripts
	$(BIN)/python -m pytest

format: $(STAMP)
	$(BIN)/ruff format schedforge tests benchmarks scripts
	$(BIN)/ruff check --fix schedforge tests benchmarks scripts

clean:
	rm -rf $(VENV) .demo-run .pytest_cache build *.egg-info
