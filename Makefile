# schedforge: `make test` is what CI runs; `make demo` shows the main job.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev,jobshop,parquet]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/schedforge bench suite:smtt-demo --method exact --method rule:edd --method rule:mddc \
		--method ls:atc --method ils:mddc --method cp --method mip:highs --time-limit 2 --jobs 2 --out .demo-run

test: $(STAMP)
	$(BIN)/ruff check schedforge tests benchmarks
	$(BIN)/ruff format --check schedforge tests benchmarks
	$(BIN)/python -m pytest

format: $(STAMP)
	$(BIN)/ruff format schedforge tests benchmarks
	$(BIN)/ruff check --fix schedforge tests benchmarks

clean:
	rm -rf $(VENV) .demo-run .pytest_cache build *.egg-info
