# Two commands on a fresh machine:  make demo   and   make test
# Each creates .venv, installs the package with what it needs, and installs the
# Graphviz `dot` program with apt-get when it is missing and apt-get is usable.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test lint bench venv deps graphviz clean

$(PY):
	$(PYTHON) -m venv $(VENV) || { apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }

venv: $(PY)

graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) || echo "warning: could not install graphviz; rendering will be skipped"; \
	  elif command -v sudo >/dev/null 2>&1; then \
	    (sudo apt-get update -qq && sudo apt-get install -y -qq graphviz >/dev/null) || echo "warning: could not install graphviz"; \
	  else echo "warning: Graphviz 'dot' is missing; install it to render graphs"; fi; }

deps: venv graphviz
	$(PIP) install -e ".[test,plot]"
	@# PyTorch (CPU) is optional: the comparison tests and benchmarks use it when present.
	-$(PIP) install "torch==2.13.0" 2>/dev/null || echo "note: torch not installed; torch comparisons will be skipped"

demo: deps
	$(PY) examples/demo.py

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -n 2 --durations=15

bench: deps
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
