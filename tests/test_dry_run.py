"""`python -m harness repro-all --dry` on a fresh clone (no outputs at all) lists what would run and why, where
`dvc repro --dry` stops at the first missing dependency (treeverse/dvc#9818)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_smoke_pipeline import fresh_project


def test_dry_run_on_a_fresh_clone_lists_every_stage_with_its_reason(tmp_path):
    proj = fresh_project(tmp_path / "p")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run([sys.executable, "-m", "harness", "repro-all", "--dry", "check"], cwd=proj,
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    stages = [line.split(":")[0].strip() for line in out.stdout.splitlines() if line.startswith("  ")]
    assert {"fetch-toy_tiny", "prepare-toy_tiny", "train.dpr@dpr", "report"} <= set(stages)
    assert "not in cache" in out.stdout or "deleted" in out.stdout
