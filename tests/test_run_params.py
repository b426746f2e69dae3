"""A run's settings are checked before anything trains: a key its method's params.yaml does not name, a value of
another type, a negative learning rate or an unknown index backend stops `python -m harness pipelines` (and any
stage) with one line naming the file and the dotted key."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import methods
from harness.errors import InputError
from harness.run_params import check_keys

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("given, field, words", [
    ({"poolng": "mean"}, "x.poolng", "did you mean 'pooling'"),
    ({"pooling": 3}, "x.pooling", "expected str"),
    ({"normalize": "yes"}, "x.normalize", "expected bool"),
    ({"backbone": {"sourse": "tiny"}}, "x.backbone.sourse", "unknown key"),
    ({"max_query_length": 6.5}, "x.max_query_length", "expected int"),
])
def test_a_typo_or_a_wrong_type_is_one_line(given, field, words):
    with pytest.raises(InputError) as err:
        check_keys(methods.default_params(methods.get("dpr")), {}, given, "x", "p.yaml")
    assert err.value.field == field and words in err.value.problem and "\n" not in str(err.value)


def test_what_the_methods_name_passes():
    check_keys(methods.default_params(methods.get("dpr")), {},
               {"pooling": "mean", "scale": 20, "backbone": {"source": "minilm", "revision": "abc",
                                                              "tiny": {"hidden_size": 8, "anything": 1}}}, "x", "p")
    flmr = methods.get("flmr")
    check_keys(methods.default_params(flmr), methods.params_schema(flmr), {"vision": {"family": "dinov2"}}, "x", "p")
    with pytest.raises(InputError, match="expected string"):
        check_keys(methods.default_params(flmr), methods.params_schema(flmr), {"vision": {"family": 3}}, "x", "p")


def _project(tmp_path: Path) -> Path:
    dst = tmp_path / "p"
    dst.mkdir()
    for name in ("harness", "methods", "pipelines", "datasets"):
        shutil.copytree(ROOT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__", "dvc.lock"))
    shutil.copy(ROOT / "params.yaml", dst / "params.yaml")
    return dst


@pytest.mark.parametrize("change, field", [
    (lambda o: o["runs"]["dpr"].setdefault("params", {}).update(poolng="mean"), "runs.dpr.params.poolng"),
    (lambda o: o.update(protocol={"lr": -1}), "protocol.lr"),
    (lambda o: o.update(index={"late": {"backend": "exakt"}}), "late.backend"),
])
def test_harness_pipelines_refuses_bad_run_settings_in_one_line(tmp_path, change, field):
    proj = _project(tmp_path)
    overrides = proj / "pipelines/check/overrides.yaml"
    data = yaml.safe_load(overrides.read_text())
    change(data)
    overrides.write_text(yaml.safe_dump(data, sort_keys=False))
    before = (proj / "pipelines/check/params.yaml").read_text()
    out = subprocess.run([sys.executable, "-m", "harness", "pipelines"], cwd=proj, capture_output=True, text=True)
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert out.returncode == 2 and len(lines) == 1, out.stderr
    assert "pipelines/check/overrides.yaml" in lines[0] and field in lines[0]
    assert (proj / "pipelines/check/params.yaml").read_text() == before  # nothing written
