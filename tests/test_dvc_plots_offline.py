"""`dvc plots show` as users run it: the page DVC writes (through .dvc/plots/offline.html, plots.html_template)
carries its vega libraries inline, so headless Chromium with every network request blocked still draws each
plot, and the output folder is ignored by git."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_dvc_plots_render_with_the_network_off(tmp_path):
    if BROWSER is None:
        pytest.skip("no Chromium here (apt-get install chromium; .ci/run installs it)")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1"}
    out = subprocess.run(["dvc", "plots", "show", "pipelines/check/dvc.yaml", "-o", str(tmp_path / "plots")],
                         cwd=ROOT, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    page = (tmp_path / "plots" / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page), "the page loads a script from elsewhere"
    plots = page.count("vegaEmbed(")
    assert plots >= 1
    dom = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9",
                          "--host-resolver-rules=MAP * ~NOTFOUND", "--virtual-time-budget=10000", "--dump-dom",
                          (tmp_path / "plots" / "index.html").as_uri()], capture_output=True, text=True, timeout=180)
    drawn = len(re.findall(r"<canvas[^>]*class=\"marks\"|<svg[^>]*class=\"marks\"", dom.stdout))
    assert drawn == plots, f"{drawn} of {plots} plots drawn with the network off"


def test_the_default_plots_folder_is_ignored():
    out = subprocess.run(["git", "check-ignore", "-q", "dvc_plots/index.html"], cwd=ROOT)
    assert out.returncode == 0
