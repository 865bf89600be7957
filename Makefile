# sales-rca: the two commands a fresh machine needs are `make workshop` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8866

.PHONY: install workshop test test-fast demo wheel lint bench clean screenshots

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

workshop: install
	$(BIN)/sales-rca workshop --demo --port $(PORT)

test: install
	$(BIN)/python -m pytest

# The inner loop: everything but the browser, notebook (papermill/Voila) and slow tests (< 60 s).
test-fast: install
	$(BIN)/python -m pytest -m "not browser and not notebook and not slow"

demo: install
	$(BIN)/sales-rca batch sales_rca/resources/demo/clients.example.yaml --out out/demo --jobs 2

# The wheel (into dist/), built offline with the hatchling the test extra installs.
wheel: install
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist .

lint: install
	$(BIN)/ruff check sales_rca tests benchmarks facilitator_guide
	$(BIN)/ruff format --check sales_rca tests benchmarks facilitator_guide

screenshots: install
	$(BIN)/python facilitator_guide/screenshots.py

bench: install
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) out dist build .pytest_cache
