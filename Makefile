# latentquant — set-up, tests, demo and benchmarks. Every target creates .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check -c constraints.txt
STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: install lint test test-all demo bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# torch first and pinned: on these machines 2.13.0 resolves to a local CPU wheel
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev]'
	@touch $@

install: $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks scripts
	$(PY) -m mypy

test: lint
	$(PY) -m pytest -m "not slow" -q

test-all: lint
	$(PY) -m pytest -q

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

clean:
	rm -rf $(VENV) runs .mypy_cache .pytest_cache .ruff_cache
