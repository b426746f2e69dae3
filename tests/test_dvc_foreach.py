"""The written dvc.yaml files use DVC's `foreach` where stages differ only in names, and hide nothing: read back,
every file holds exactly the stages spelled out, each with every dependency, under the names DVC runs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness import dvcfile
from harness.data_stages import corpus_owners, owners
from harness.dvc_foreach import Groups, expand, fill, placeholders
from harness.params import load_params

ROOT = Path(__file__).resolve().parent.parent
LOADED = [(p, load_params(ROOT / p.params_file)) for p in dvcfile.discover()]
NAMED = frozenset(corpus_owners(owners(LOADED)))


@pytest.mark.parametrize("pipeline, params", LOADED, ids=[p.name for p, _ in LOADED])
def test_every_written_file_reads_back_as_its_stages_spelled_out(pipeline, params):
    written = expand(yaml.safe_load((ROOT / pipeline.dvc_file).read_text())["stages"])
    names = dvcfile.dvc_names(pipeline, params, NAMED)
    spelled = {names[name]: spec for name, spec in dvcfile.spelled_out(pipeline, params, NAMED).items()}
    assert written == spelled
    assert not any("${" in str(spec) for spec in written.values())


def test_the_largest_files_shrink():
    lines = sum(len((ROOT / p.dvc_file).read_text().splitlines()) for p, _ in LOADED)
    spelled = sum(len(yaml.dump(dvcfile.spelled_out(p, params, NAMED), width=120).splitlines()) for p, params in LOADED)
    assert lines < spelled / 2


def _stage(run: str, deps: list[str]) -> dict:
    return {"cmd": f"train --run {run}", "deps": deps, "outs": [{f"models/{run}": {"cache": False}}]}


def test_a_stage_whose_dependencies_differ_stays_spelled_out():
    groups, stages = Groups(), {}
    for run, deps in (("a", ["code.py"]), ("b", ["code.py"]), ("c", ["code.py", "extra.py"])):
        stages[f"train-{run}"] = _stage(run, deps)
        groups.add("train.m", f"train-{run}", {"key": run}, _stage(placeholders({"key": run})["key"], ["code.py"]))
    written = groups.compact(stages)
    assert list(written) == ["train.m", "train-c"]
    assert written["train.m"]["foreach"] == {"a": {}, "b": {}}
    assert fill(written["train.m"]["do"], {"key": "b"}) == stages["train-b"]
    assert groups.renamed() == {"train-a": "train.m@a", "train-b": "train.m@b"}
    assert expand(written) == {"train.m@a": stages["train-a"], "train.m@b": stages["train-b"],
                               "train-c": stages["train-c"]}


def test_a_lone_stage_is_never_a_foreach():
    groups = Groups()
    groups.add("train.m", "train-a", {"key": "a"}, _stage("${key}", ["code.py"]))
    assert groups.compact({"train-a": _stage("a", ["code.py"])}) == {"train-a": _stage("a", ["code.py"])}
