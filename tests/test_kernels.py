"""The CPU kernel choice (harness/kernels.py) is set on import and lands in every record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.kernels import KERNEL_ENV, THREADS_ENV

ROOT = Path(__file__).resolve().parent.parent
PROBE = ("import os, json, harness, torch; from harness.provenance import cpu_kernels; "
         "from harness.kernels import pin_threads; pin_threads(); "
         "print(json.dumps({**{k: os.environ.get(k) for k in %r}, **cpu_kernels()}))" % sorted(KERNEL_ENV))


def probe(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in KERNEL_ENV and k != THREADS_ENV}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**clean, "PYTHONPATH": str(ROOT), **env},
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_pins_kernels_and_the_record_names_them() -> None:
    got = probe()
    for name, value in KERNEL_ENV.items():
        assert got[name] == value
    assert got["mkl_cbwr"] == "AVX2" and got["onednn_max_cpu_isa"] == "AVX2"
    assert got["torch_threads"] == 2
    assert got["cpu_capability"] in {"AVX2", "DEFAULT"}  # never AVX-512, whatever the processor


def test_environment_overrides_win_and_are_recorded() -> None:
    got = probe(MKL_CBWR="COMPATIBLE", ATEN_CPU_CAPABILITY="default", **{THREADS_ENV: "1"})
    assert got["mkl_cbwr"] == "COMPATIBLE"
    assert got["cpu_capability"] == "DEFAULT"
    assert got["torch_threads"] == 1
