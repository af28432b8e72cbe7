# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/shieldwall demo

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -n 4 --dist worksteal  # most of the time is waiting on servers and databases

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/correlate.py
	$(BIN)/python bench/taxii.py
	$(BIN)/python bench/dashboard.py
	$(BIN)/python bench/stream.py
	$(BIN)/python bench/federation.py
	$(BIN)/python bench/formats_misp.py
	$(BIN)/python bench/formats.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
