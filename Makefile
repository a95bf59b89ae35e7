# make demo  — set up .venv and run notebooks/quickstart.ipynb headless on the offline default
# make test  — set up .venv and run the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: setup demo test bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	LLM_CASH_HOME=$${LLM_CASH_HOME:-$(CURDIR)/.cash-demo} $(PY) scripts/run_notebook.py notebooks/quickstart.ipynb

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/profile_speed.py
	$(PY) benchmarks/panel_speed.py
	$(PY) benchmarks/llm_stream.py

lint: $(STAMP)
	$(PY) -m pip install --quiet ruff
	$(PY) -m ruff check llm_cash_magic tests benchmarks scripts

clean:
	rm -rf $(VENV) .cash-demo .pytest_cache build dist
