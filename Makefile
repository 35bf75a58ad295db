# latentquant — set-up, tests, demo and benchmarks. Every target creates .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check -c constraints.txt
STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: install lint docs test test-all demo bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# torch first and pinned: on these machines 2.13.0 resolves to a local CPU wheel
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev,docs]'
	@touch $@

install: $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks scripts docs
	$(PY) -m mypy

# the API reference site, from the numpydoc docstrings; --strict: a docstring or link warning fails the build
docs: $(STAMP)
	$(PY) -m mkdocs build --strict --site-dir site

# -n auto: one worker per core; --dist loadscope keeps each test module on one worker, so that module-scoped
# fixtures (a fitted study) are built once and the Ray tests (all in test_executors.py) share one Ray instance
test: lint docs
	$(PY) -m pytest -n auto --dist loadscope -m "not slow" -q

test-all: lint docs
	$(PY) -m pytest -n auto --dist loadscope -q

demo: $(STAMP)
	$(VENV)/bin/latentquant factors report --config configs/factor_demo.yaml --out runs/demo
	@echo "report: runs/demo/report.html"

$(BENCH_STAMP): $(STAMP)
	$(PIP) -e '.[dev,bench]'
	@touch $@

bench: $(BENCH_STAMP)
	$(PY) benchmarks/bench_training.py
	$(PY) benchmarks/bench_factor.py
	$(PY) benchmarks/bench_ipca.py
	$(PY) benchmarks/bench_pricing_scale.py
	$(PY) benchmarks/bench_selection.py
	$(PY) benchmarks/bench_contention.py
	$(PY) benchmarks/bench_synthetic_eval.py
	$(PY) benchmarks/bench_generators.py

clean:
	rm -rf $(VENV) runs site .mypy_cache .pytest_cache .ruff_cache
