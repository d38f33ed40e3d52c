# Two commands: `make run` and `make test`. Both build .venv from nothing when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck check bench-smoke clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/jqodi solve instances/paper/data1.json --solver milp

# the suite runs on every core (pytest-xdist): about half the wall time on the 2-core CI machine
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto

lint: $(STAMP)
	$(BIN)/ruff check jqodi_opt tests benchmarks notebooks
	$(BIN)/ruff format --check jqodi_opt tests benchmarks notebooks

typecheck: $(STAMP)
	$(BIN)/mypy jqodi_opt tests benchmarks

check: lint typecheck test

bench-smoke: $(STAMP)
	$(BIN)/jqodi bench benchmarks/smoke.toml --db benchmarks/results/smoke.sqlite

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
