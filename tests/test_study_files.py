"""Studies in one place (studies/<name>.yaml): grids expand into the pipelines they name, bad study files fail in
one line naming the file and the key, and every study table is a DVC stage whose lock matches the committed
tables."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import dvcfile, studies
from harness.errors import InputError

ROOT = Path(__file__).resolve().parent.parent


def test_a_grid_fills_each_point_and_keeps_numbers_numbers():
    grid = {"name": "d_{n}", "factors": {"n": [20, 80]},
            "template": {"profile": "d_{n}", "dataset": {"toy": {"per_kind": "{n}"}}}}
    out = studies.expand_grid(grid, "studies/x.yaml", "pipelines")
    assert list(out) == ["d_20", "d_80"]
    assert out["d_80"] == {"profile": "d_80", "dataset": {"toy": {"per_kind": 80}}}


def test_a_run_grid_merges_each_factor_overlay_in_order():
    runs = {"grid": {"name": "{family}_{state}",
                     "factors": {"family": {"a": {}, "b": {"params": {"vision": {"tiny": 1}}}},
                                 "state": {"on": {"params": {"vision": {"freeze": False}}},
                                           "off": {"params": {"vision": {"freeze": True}}}}},
                     "template": {"method": "flmr", "params": {"vision": {"family": "{family}", "freeze": None}}}}}
    out = studies.expand_entries(runs, "x", "runs")
    assert list(out) == ["a_on", "a_off", "b_on", "b_off"]
    assert out["b_off"]["params"]["vision"] == {"family": "b", "freeze": True, "tiny": 1}
    assert list(out["b_off"]["params"]["vision"]) == ["family", "freeze", "tiny"]  # the template's key order


def test_a_task_grid_expands_in_place_beside_named_tasks():
    tasks = {"full": {"split": "test"},
             "grid": {"name": "n{size}", "factors": {"size": [10, 20]},
                      "template": {"split": "test", "subset": {"size": "{size}", "seed": 13}}},
             "last": {"split": "val"}}
    out = studies.expand_entries(tasks, "x", "tasks")
    assert list(out) == ["full", "n10", "n20", "last"]
    assert out["n20"]["subset"] == {"size": 20, "seed": 13}  # a number stays a number
    with pytest.raises(InputError) as err:
        studies.expand_entries({**tasks, "n10": {"split": "test"}}, "x.yaml", "tasks")
    assert err.value.field == "tasks.grid" and "n10" in str(err.value)


def test_corpus_scaling_sizes_come_from_its_grid():
    tasks = yaml.safe_load((ROOT / "pipelines/corpus_scaling/params.yaml").read_text())["tasks"]
    assert [t.get("subset", {}).get("size") for t in tasks.values()] == [None, 1500, 3000, 6000, 9000]


def test_the_committed_grids_give_the_pipelines_they_name():
    generated = studies.generated_pipelines()
    assert {"toy_distractors_20", "toy_distractors_80", "vision_backbones"} <= set(generated)
    assert not (ROOT / "pipelines/toy_distractors_20/overrides.yaml").exists()  # the study is the one place
    params = yaml.safe_load((ROOT / "pipelines/toy_distractors_80/params.yaml").read_text())
    assert params["dataset"]["toy"]["distractors_per_kind"] == 80
    runs = yaml.safe_load((ROOT / "pipelines/vision_backbones/params.yaml").read_text())["runs"]
    families = ("clip", "siglip", "dinov2", "vit", "resnet", "convnext")
    assert sorted({r.rsplit("_", 2)[0] for r in runs}) == sorted(families) and len(runs) == 36  # x 2 states x 3 seeds


def _project(tmp_path: Path) -> Path:
    for f in ("params.yaml",):
        shutil.copy(ROOT / f, tmp_path / f)
    for d in ("studies", "pipelines", "methods", "datasets"):
        shutil.copytree(ROOT / d, tmp_path / d)
    return tmp_path


@pytest.mark.parametrize("edit, field", [
    (lambda s: s.update(qestion="typo"), "qestion"),
    (lambda s: s.pop("outs"), "outs"),
    (lambda s: s.update(table="harness.report.studies.write_toy_detector"), "table"),
    (lambda s: s["pipelines"].update(name="toy_noisy"), "pipelines.name"),  # also defined by an overrides.yaml
])
def test_a_bad_study_file_fails_in_one_line_naming_file_and_key(tmp_path, edit, field):
    root = _project(tmp_path)
    f = root / "studies/toy_detector.yaml"
    spec = yaml.safe_load(f.read_text())
    edit(spec)
    f.write_text(yaml.safe_dump(spec, sort_keys=False))
    if field == "pipelines.name":  # a study may not generate a pipeline another file defines
        (root / "pipelines/toy_noisy/overrides.yaml").parent.mkdir()
        (root / "pipelines/toy_noisy/overrides.yaml").write_text("profile: toy_noisy\n")
    with pytest.raises(InputError) as exc:
        dvcfile.discover(root)
        studies.discover(root)
    line = str(exc.value)
    assert "\n" not in line and "studies/toy_detector.yaml" in line and field in line


def test_each_study_table_is_a_dvc_stage_with_its_lock():
    stages = yaml.safe_load((ROOT / "studies/dvc.yaml").read_text())["stages"]
    tables = [s for s in studies.discover() if s.table]
    assert sorted(stages) == sorted(s.stage for s in tables)
    lock = yaml.safe_load((ROOT / "studies/dvc.lock").read_text())["stages"]
    for study in tables:
        stage = stages[study.stage]
        assert stage["cmd"] == f"python -m harness study {study.name}"
        assert study.file in stage["deps"] and "harness/report/studies.py" in stage["deps"]
        outs = {o["path"]: o["md5"] for o in lock[study.stage]["outs"]}
        for out in study.outs:  # the committed table is what the locked stage made
            path = f"results/studies/{out}"
            assert path in outs, f"{study.stage} does not lock {path}"
            import hashlib
            assert hashlib.md5((ROOT / path).read_bytes()).hexdigest() == outs[path], path


def test_the_study_command_rewrites_a_table_as_committed(tmp_path):
    """`harness study` on a copy of the committed results writes the committed table byte for byte."""
    root = _project(tmp_path)
    shutil.copytree(ROOT / "results", root / "results",
                    ignore=shutil.ignore_patterns("*.run", "index.html", "bench", "gpu", "plots"))
    want = (root / "results/studies/toy_distractors.md").read_text()
    (root / "results/studies/toy_distractors.md").unlink()
    written = studies.write_table("toy_distractors", root)
    assert [p.name for p in written] == ["toy_distractors.md", "toy_distractors.csv"]
    assert (root / "results/studies/toy_distractors.md").read_text() == want


def test_the_study_cli_names_an_unknown_study_in_one_line():
    out = subprocess.run([sys.executable, "-m", "harness", "study", "nosuch"], cwd=ROOT, capture_output=True,
                         text=True)
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0 and "nosuch" in out.stderr
