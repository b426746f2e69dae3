"""Every table from its own pipeline: the written pipeline files match the template, each stage depends on
all the code it runs, tasks and corpora are checked, and a second task adds index + evaluate stages only."""

from __future__ import annotations

import copy
import modulefinder
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import dvcfile
from harness.dvc_foreach import expand
from harness.errors import InputError
from harness.params import load_params
from harness.tasks import get_task, subset_ids, tasks

ROOT = Path(__file__).resolve().parent.parent
PIPELINES = dvcfile.discover()


def test_written_pipeline_files_match_the_template():
    assert dvcfile.stale() == [], "run `python -m harness pipelines` and commit what it writes"


def _project_files(entries: list[str]) -> set[str]:
    """Project files that stdlib modulefinder (an implementation apart from harness/code_deps.py) reaches."""
    finder = modulefinder.ModuleFinder(path=[str(ROOT)])
    for e in entries:
        finder.import_hook(e, fromlist=["*"])
    out = set()
    for m in finder.modules.values():
        f = getattr(m, "__file__", None)
        if f and Path(f).resolve().is_relative_to(ROOT):
            out.add(Path(f).resolve().relative_to(ROOT).as_posix())
    return out


def _covered(file: str, deps: list[str]) -> bool:
    return any(file == d or file.startswith(d.rstrip("/") + "/") for d in deps)


@pytest.mark.parametrize("pipeline", [p for p in PIPELINES if p.name in ("default", "okvqa_mini")],
                         ids=lambda p: p.name)
def test_every_stage_depends_on_the_code_it_imports(pipeline):
    params = load_params(ROOT / pipeline.params_file)
    stages = dvcfile.spelled_out(pipeline, params)
    from harness import methods

    for name, stage in stages.items():
        kind = next(k for k in sorted(dvcfile.STAGE_MODULES, key=len, reverse=True)
                    if name == k or name.startswith(k + "-"))
        entries = list(dvcfile.STAGE_MODULES[kind])
        run = name.split("-", 1)[1] if kind in ("train", "index", "evaluate") else None
        run = next((r for r in params["runs"] if run and (run == r or run.startswith(r + "-"))), None)
        if run:
            entries.append(methods.get(params["runs"][run]["method"]).target.partition(":")[0])
        missing = [f for f in sorted(_project_files(entries)) if not _covered(f, stage["deps"])]
        assert not missing, f"{pipeline.dvc_file}: stage {name} runs {missing} but does not depend on them"
        assert {"harness/cli.py", "harness/__main__.py"} <= set(stage["deps"])


def test_a_second_task_adds_index_and_evaluate_stages_only():
    params = load_params(ROOT / "pipelines/okvqa_mini/params.yaml")
    stages = dvcfile.spelled_out(dvcfile.get("okvqa_mini"), params)
    sub = tasks(params)["wiki3k"]
    assert sub.subset_size == 3000
    for run in params["runs"]:
        index = stages[f"index-{run}-{sub.corpus_id}"]
        evaluate = stages[f"evaluate-{run}-wiki3k"]
        assert f"indexes/okvqa_mini/{run}/{sub.corpus_id}" in evaluate["deps"]
        assert f"models/okvqa_mini/{run}" in index["deps"]  # the model the main task uses: trained once
    train = [s for s in stages if s.startswith("train-")]
    assert sorted(train) == sorted(f"train-{r}" for r in params["runs"])  # one per run, none per task


def test_a_run_from_another_pipeline_is_evaluated_without_a_train_stage(tmp_path):
    (tmp_path / "pipelines" / "study").mkdir(parents=True)
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    (tmp_path / "pipelines/study/overrides.yaml").write_text(yaml.safe_dump(
        {"profile": "study", "runs": {"dpr": {"method": "dpr", "from": "toy"}}}))
    written = dvcfile.rendered(tmp_path)
    stages = expand(yaml.safe_load(written["pipelines/study/dvc.yaml"])["stages"])
    assert not any(s.startswith("train") for s in stages)
    assert "models/toy/dpr" in stages["index-dpr-full"]["deps"]


def test_a_replicate_can_evaluate_another_pipelines_run_under_its_own_id(tmp_path):
    (tmp_path / "pipelines/study").mkdir(parents=True)
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    (tmp_path / "pipelines/study/overrides.yaml").write_text(yaml.safe_dump(
        {"profile": "study", "runs": {
            "dpr_s13": {"method": "dpr", "from": "toy", "from_run": "dpr", "seed": 13, "replicate_of": "dpr"},
            "dpr_s14": {"method": "dpr", "seed": 14, "replicate_of": "dpr"}}}))
    stages = expand(yaml.safe_load(dvcfile.rendered(tmp_path)["pipelines/study/dvc.yaml"])["stages"])
    assert "train-dpr_s13" not in stages and "train-dpr_s14" in stages
    assert "models/toy/dpr" in stages["index.dpr@dpr_s13-full"]["deps"]  # one foreach entry: both indexes
    assert "models/study/dpr_s14" in stages["index.dpr@dpr_s14-full"]["deps"]


def test_from_run_without_from_is_one_line_naming_the_field(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["runs"]["dpr"]["from_run"] = "dpr"
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump(params))
    with pytest.raises(InputError, match=r"params.yaml: field 'runs.dpr'.*from"):
        load_params(bad)


def test_subsets_of_one_seed_are_nested():
    pids = [f"p{i}" for i in range(500)]
    small, large = subset_ids(pids, 50, 3), subset_ids(pids, 200, 3)
    assert len(small) == 50 and small < large
    assert subset_ids(list(reversed(pids)), 50, 3) == small  # independent of the corpus order
    with pytest.raises(InputError, match="larger than the corpus"):
        subset_ids(pids, 501, 3)


def test_unknown_task_or_corpus_is_one_line_naming_file_and_field(tmp_path):
    params = load_params(ROOT / "pipelines/check/params.yaml")
    with pytest.raises(InputError, match=r"pipelines/check/params.yaml: field 'tasks.nope': no such task"):
        get_task(params, "nope")
    params["tasks"] = {"main": {"dataset": "toy"}}
    with pytest.raises(InputError, match=r"field 'tasks.main.corpus': missing: a task over dataset 'toy'"):
        tasks(params)
    out = subprocess.run([sys.executable, "-m", "harness", "--params", "pipelines/check/params.yaml",
                          "--allow-dirty", "evaluate", "--run", "dpr", "--task", "nope"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "tasks.nope" in out.stderr


def test_a_task_names_a_prepared_dataset_and_its_corpus_or_a_named_one():
    """Checked at `harness pipelines`, which sees every pipeline's data (harness/data_stages.py)."""
    from harness.data_stages import check_tasks, corpus_owners, owners

    loaded = [(p, load_params(ROOT / p.params_file)) for p in dvcfile.discover()]
    datasets = owners(loaded)
    corpora = corpus_owners(datasets)
    check = dvcfile.get("check")
    params = load_params(ROOT / check.params_file)
    for spec, field, problem in (
            ({"corpus": "wikipedia"}, "tasks.main.corpus", "'wikipedia' is neither toy_tiny's corpus (toy_tiny) nor"),
            ({"dataset": "nowhere", "corpus": "x"}, "tasks.main.dataset", "no pipeline prepares 'nowhere'"),
            ({"dataset": "toy", "corpus": "toy_tiny"}, "tasks.main.corpus", "'toy_tiny' is neither toy's corpus")):
        with pytest.raises(InputError) as err:
            check_tasks(check, {**params, "tasks": {"main": spec}}, datasets, corpora)
        assert err.value.field == field and problem in str(err.value), err.value
        assert str(err.value).startswith("pipelines/check/overrides.yaml")
    # a named corpus (prepared once in data/corpora/) and another dataset with its own corpus are both fine
    check_tasks(check, {**params, "tasks": {"main": {}, "w": {"corpus": "wiki_vital"},
                                            "o": {"dataset": "fvqa_facts", "corpus": "fvqa_facts"}}}, datasets, corpora)
    got = {t.name: (t.dataset, t.corpus_id) for t in tasks({**params, "tasks": {
        "main": {}, "w": {"corpus": "wiki_vital", "subset": {"size": 9}}, "o": {"dataset": "toy", "corpus": "toy"}}})
        .values()}
    assert got == {"main": (None, "full"), "w": (None, "wiki_vital-subset9-seed13"), "o": ("toy", "toy")}


def test_a_gpu_pipeline_stops_in_one_line_without_a_gpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    out = subprocess.run([sys.executable, "-m", "harness", "--params", "pipelines/gpu_latency/params.yaml",
                          "--allow-dirty", "prepare"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "needs a CUDA GPU" in out.stderr and "field 'requires'" in out.stderr


def test_bad_overrides_never_reach_a_written_params_file(tmp_path):
    (tmp_path / "pipelines" / "bad").mkdir(parents=True)
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    (tmp_path / "pipelines/bad/overrides.yaml").write_text(yaml.safe_dump({"protocol": {"steps": "many"}}))
    with pytest.raises(InputError, match=r"pipelines/bad/overrides.yaml: field 'protocol.steps'"):
        dvcfile.write_all(tmp_path)
    assert not (tmp_path / "pipelines/bad/params.yaml").exists()


def test_adding_a_task_leaves_every_existing_stage_as_it_was():
    """What `dvc repro --dry` then lists: the new task's index and evaluate stages and the report, nothing else."""
    p = dvcfile.get("okvqa_mini")
    params = load_params(ROOT / p.params_file)
    before = expand(yaml.safe_load(dvcfile.render_dvc(p, params))["stages"])
    params["tasks"]["wiki6k"] = {"split": "test", "subset": {"size": 6000, "seed": 13}}
    after = expand(yaml.safe_load(dvcfile.render_dvc(p, params))["stages"])
    changed = {name for name in before if before[name] != after[name]}
    added = set(after) - set(before)
    assert changed == {"report"}
    methods = {run: spec["method"] for run, spec in params["runs"].items()}
    assert added == {f"{kind}.{methods[run]}@{run}-{suffix}" for run in params["runs"]
                     for kind, suffix in (("index", "subset6000-seed13"), ("evaluate", "wiki6k"))}


def test_large_per_query_files_stay_out_of_git_only_where_the_pipeline_says_so():
    def outs(pipeline: str) -> dict[str, bool]:
        """out path -> whether git keeps it (cache: false), for the evaluate stages"""
        stages = expand(yaml.safe_load((ROOT / pipeline).read_text())["stages"])
        found = {}
        for key, spec in stages.items():
            if key.startswith("evaluate"):
                for out in spec["outs"]:
                    path, opts = (out, {}) if isinstance(out, str) else next(iter(out.items()))
                    found[path] = opts.get("cache", True) is False
        return found

    real = outs("pipelines/okvqa_mini/dvc.yaml")
    assert real and all(in_git == (Path(p).name not in ("trec.run", "per_query.json")) for p, in_git in real.items())
    toy = outs("dvc.yaml")
    assert toy and all(toy.values())  # the toy rankings are small: committed with the tables


def test_the_all_tables_command_runs_a_pipeline_after_the_one_whose_models_it_evaluates():
    from harness.repro_all import offline_pipelines

    order = [p.name for p in offline_pipelines()[0]]
    assert order.index("okvqa_mini") < order.index("corpus_scaling")
    scaling = load_params(ROOT / "pipelines/corpus_scaling/params.yaml")
    assert {run["from"] for run in scaling["runs"].values()} == {"okvqa_mini"}
    stages = expand(yaml.safe_load((ROOT / "pipelines/corpus_scaling/dvc.yaml").read_text())["stages"])
    assert not [s for s in stages if s.startswith("train")]  # evaluated as trained there, never retrained


def test_extends_names_an_existing_pipeline(tmp_path):
    (tmp_path / "params.yaml").write_text((ROOT / "params.yaml").read_text())
    folder = tmp_path / "pipelines" / "study"
    folder.mkdir(parents=True)
    (folder / "overrides.yaml").write_text("extends: nowhere\nprofile: study\n")
    with pytest.raises(InputError, match="extends"):
        dvcfile.merged_params(dvcfile.get("study", tmp_path), tmp_path)


def test_several_train_seeds_repeat_each_run_and_the_seed_table_aggregates(tmp_path, monkeypatch):
    """data_seed fixes the world and splits; each run repeats once per training seed, marked replicate_of."""
    import pandas as pd

    from harness.params import run_seed
    from harness.report.seeds import seeds_frame

    params = dvcfile.merged_params(dvcfile.get("toy_seeds"))
    assert params["data_seed"] == 13 and params["train_seeds"] == [13, 14, 15]
    assert set(params["runs"]) == {f"{r}_s{s}" for r in ("dpr", "colbert_text", "flmr_feature", "flmr", "flmr_roi")
                                   for s in (13, 14, 15)}
    assert run_seed(params, "flmr_s14") == 14 and params["runs"]["flmr_s14"]["replicate_of"] == "flmr"
    rows = [{"task": "main", "run": f"dpr_s{s}", "seed": s, "metric": "PR-Success@5", "value": v, "lo": v - 2,
             "hi": v + 2} for s, v in ((13, 40.0), (14, 44.0), (15, 42.0))]
    frame = seeds_frame(params, pd.DataFrame(rows)).set_index(["run", "metric"])
    row = frame.loc[("dpr", "PR-Success@5")]
    assert row["seeds"] == 3 and row["mean"] == 42.0 and abs(row["sd"] - 2.0) < 1e-9
    assert "14: 44.0 [42.0, 46.0]" in row["per seed (value [95% interval over queries])"]
    from harness.report.seeds import summary_markdown
    assert "| dpr   | 42.0 ± 2.0 (3) " in summary_markdown(frame.reset_index())
    from harness.paths import seeds_plot_file
    from harness.report.seeds import seeds_plot
    monkeypatch.chdir(tmp_path)  # results/<profile>/plots/ is relative to the working directory
    seeds_plot(params, pd.DataFrame(rows))
    assert seeds_plot_file(params).read_bytes().startswith(b"\x89PNG")
    default = dvcfile.merged_params(dvcfile.get("default"))
    assert "dpr" in default["runs"] and run_seed(default, "dpr") == 13  # one seed: the runs as written


def test_each_dataset_and_named_corpus_is_prepared_once_for_every_pipeline_reading_it():
    data = yaml.safe_load((ROOT / "datasets/dvc.yaml").read_text())["stages"]
    assert [s for s in data if s.startswith("prepare-corpus-wiki_vital")] == ["prepare-corpus-wiki_vital"]
    for dataset in ("okvqa_mini", "fvqa_wiki", "aokvqa_wiki"):  # three datasets, one wiki_vital folder
        assert "data/corpora/wiki_vital" in data[f"prepare-{dataset}"]["deps"]
    assert "prepare-corpus_scaling" not in data  # corpus_scaling reads okvqa_mini's data
    scaling = expand(yaml.safe_load((ROOT / "pipelines/corpus_scaling/dvc.yaml").read_text())["stages"])
    assert all({"data/okvqa_mini", "data/corpora/wiki_vital"} <= set(s["deps"])
               for name, s in scaling.items() if name.startswith(("index", "evaluate")))
    for name in ("prepare", "fetch"):
        assert name not in scaling


def test_pipelines_sharing_a_dataset_must_prepare_it_alike():
    from harness.data_stages import owners

    default, check = dvcfile.get("default"), dvcfile.get("check")
    params = load_params(ROOT / default.params_file)
    other = copy.deepcopy(load_params(ROOT / check.params_file))
    other["dataset"]["name"] = "toy"  # check's own world, under the default's name
    with pytest.raises(InputError) as err:
        owners([(default, params), (check, other)])
    assert str(err.value).startswith("pipelines/check/overrides.yaml") and err.value.field == "dataset.toy.image_size"
    assert "prepares data/toy/ too" in str(err.value)
    assert owners([(default, params), (check, {**other, "dataset": params["dataset"]})])["toy"][0] == default
