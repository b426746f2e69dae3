"""Every results table is the output of its own DVC pipeline. The embedded default is the project root
(`params.yaml`, `dvc.yaml`: what `dvc repro` runs); every other table is a folder `pipelines/<name>/` whose
`overrides.yaml` says how it differs from the default. `python -m harness pipelines` writes each folder's
`params.yaml` (the default with its overrides applied) and every `dvc.yaml` from one template (below), each
stage depending on exactly the code it runs (harness/code_deps.py); stages that differ only in names are written
as one DVC `foreach` entry (harness/dvc_foreach.py). A test keeps the written files identical to what this module
writes, so they never drift apart, and reads every `foreach` back into the stages spelled out."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness import paths
from harness.atomic import write_text
from harness.code_deps import ROOT, import_closure
from harness.dvc_foreach import Groups, placeholders
from harness.data_stages import DATA_DVC, check_tasks, corpus_owners, owners, render as render_data_dvc
from harness.errors import InputError
from harness.params import deep_merge, load_params, params_file
from harness.tasks import Task, corpus_ids, main_task, task_for_corpus, tasks

VQA_FILES = ("vqa.json", "vqa_per_query.json")
EVAL_KEYS = ["eval.split", "eval.ks", "eval.latency_queries"]  # what evaluate reads (bootstrap, reference: report)

PIPELINES_DIR = "pipelines"
CLI_FILES = ["harness/__main__.py", "harness/cli.py"]
# the module each stage runs (its import closure becomes the stage's code dependencies)
STAGE_MODULES = {
    "fetch": ["harness.data.fetch"],
    "prepare": ["harness.pipeline.prepare"],
    "prepare-corpus": ["harness.data.prepared_corpus"],
    "train": ["harness.pipeline.fit"],
    "index": ["harness.pipeline.build_index"],
    "evaluate": ["harness.pipeline.evaluate"],
    "reader-train": ["harness.pipeline.read"],
    "vqa": ["harness.pipeline.read"],
    "report": ["harness.report.tables", "harness.report.plots"],
}


@dataclass(frozen=True)
class Pipeline:
    name: str              # the folder name; its params' `profile` names its results folder
    params_file: str       # relative to the project root
    dvc_file: str
    overrides_file: str | None  # None: the embedded default, edited by hand

    @property
    def wdir(self) -> str | None:
        return None if self.overrides_file is None else "../.."


def discover(root: Path = ROOT) -> list[Pipeline]:
    """The embedded default, every `pipelines/<name>/overrides.yaml`, and every pipeline a study's grid generates
    (its overrides come from `studies/<study>.yaml`; its written files sit in `pipelines/<name>/` all the same)."""
    from harness.studies import generated_pipelines

    found = [Pipeline("default", "params.yaml", "dvc.yaml", None)]
    named = {f.parent.name: f"{f.parent.relative_to(root).as_posix()}/overrides.yaml"
             for f in (root / PIPELINES_DIR).glob("*/overrides.yaml")}
    named.update({name: study.file for name, study in generated_pipelines(root).items()})
    for name in sorted(named):
        d = f"{PIPELINES_DIR}/{name}"
        found.append(Pipeline(name, f"{d}/params.yaml", f"{d}/dvc.yaml", named[name]))
    return found


def get(name: str, root: Path = ROOT) -> Pipeline:
    known = {p.name: p for p in discover(root)}
    if name not in known:
        raise InputError(PIPELINES_DIR, name, f"no such pipeline; known: {sorted(known)}")
    return known[name]


class NoAliases(yaml.SafeDumper):
    """Overrides may share settings through YAML anchors; written params spell every run out."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def merged_params(p: Pipeline, root: Path = ROOT, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """The embedded default (or, with `extends: <pipeline>`, that pipeline's params) with the overrides
    applied. `runs` and `tasks` are replaced whole: a pipeline lists its own rows and tasks, or inherits those
    of the pipeline it extends. `models_from: <pipeline>`: every run without its own `from` evaluates the
    model that pipeline trained (no train stage here)."""
    if p.overrides_file is None:
        return yaml.safe_load((root / p.params_file).read_text(encoding="utf-8"))
    overlay = _overlay(p, root)
    extends, models_from = overlay.pop("extends", None), overlay.pop("models_from", None)
    known = {q.name: q for q in discover(root)}
    for field, name in (("extends", extends), ("models_from", models_from)):
        if name is not None and (name not in known or name == p.name or name in seen):
            raise InputError(p.overrides_file, field, f"{name!r} is not another pipeline here (known: {sorted(known)})")
    base = merged_params(known[extends], root, (*seen, p.name)) if extends else \
        yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    merged = deep_merge(base, overlay)
    for whole in ("runs", "tasks"):
        if whole in overlay:
            merged[whole] = copy.deepcopy(overlay[whole])
        elif whole == "tasks" and not extends:
            merged.pop("tasks", None)
    if models_from:
        for run in merged["runs"].values():
            run.setdefault("from", models_from)
        if merged.get("reader", {}).get("enabled", True) and "reader" in merged:
            merged["reader"].setdefault("from", models_from)  # and answers with that pipeline's reader
    merged["runs"] = replicate_runs(merged)
    return merged


def _overlay(p: Pipeline, root: Path) -> dict[str, Any]:
    """What the pipeline changes over its base: its overrides.yaml, or its grid point in a study; a grid of runs
    or tasks (`runs: {grid: ...}`) expanded."""
    from harness.studies import GRIDDED, STUDIES_DIR, expand_entries, generated_pipelines

    if p.overrides_file.startswith(STUDIES_DIR + "/"):
        overlay = copy.deepcopy(generated_pipelines(root)[p.name].pipelines[p.name])
    else:
        overlay = yaml.safe_load((root / p.overrides_file).read_text(encoding="utf-8")) or {}
    if not isinstance(overlay, dict):
        raise InputError(p.overrides_file, "-", "must be a mapping")
    for field in GRIDDED:
        if field in overlay:
            overlay[field] = expand_entries(overlay[field], p.overrides_file, field)
    return overlay


def replicate_runs(params: dict[str, Any]) -> dict[str, Any]:
    """With several `train_seeds`, each run that names no seed of its own (and trains here) becomes one run per
    seed, `<run>_s<seed>`, marked `replicate_of: <run>`: the report gives their mean and spread."""
    seeds = params.get("train_seeds") or []
    if len(seeds) < 2:
        return params["runs"]
    out: dict[str, Any] = {}
    for run_id, run in params["runs"].items():
        if "seed" in run or "from" in run:
            out[run_id] = run
            continue
        for seed in seeds:
            out[f"{run_id}_s{seed}"] = {**copy.deepcopy(run), "seed": int(seed), "replicate_of": run_id}
    return out


def render_params(p: Pipeline, root: Path = ROOT) -> str:
    """The pipeline's params.yaml, as `merged_params` makes it."""
    if p.overrides_file is None:
        return (root / p.params_file).read_text(encoding="utf-8")
    merged = merged_params(p, root)
    extends = _overlay(p, root).get("extends")
    over = "params.yaml" if not extends else get(extends, root).overrides_file
    return (f"# Written by `python -m harness pipelines` from {p.overrides_file} over {over}; edit those.\n"
            + yaml.dump(merged, Dumper=NoAliases, sort_keys=False))


def code_files(stage: str, methods: list[str] = ()) -> list[str]:
    files = {f.relative_to(ROOT).as_posix() for f in import_closure(STAGE_MODULES[stage])}
    for target in methods:
        module = target.partition(":")[0]
        files.update(f.relative_to(ROOT).as_posix() for f in import_closure([module]))
        files.add("/".join(module.split(".")[:2]))  # the method's folder: its code and params.yaml
    folders = [f for f in files if not f.endswith(".py")]
    files = {f for f in files if not any(f.startswith(d + "/") for d in folders)}
    return sorted(set(CLI_FILES) | files)


def _params_dep(p: Pipeline, keys: list[str]) -> list[dict[str, list[str]]]:
    return [{p.params_file: keys}]


def data_deps(params: dict[str, Any], task: Task | None = None, named: frozenset[str] | None = None) -> list[str]:
    """What a stage reading the pipeline's dataset (or a task's) depends on: the dataset folder and the named
    corpus it reads (in data/corpora/; `named`: every named corpus, else the one the pipeline's dataset reads)."""
    from harness.data.prepared_corpus import shared_corpus

    if named is None:
        named = frozenset({shared_corpus(params)} - {None})
    corpus = shared_corpus(params) if task is None else task.corpus
    return [str(paths.task_data_dir(params, task))] + ([str(paths.corpus_dir(corpus))] if corpus in named else [])


class _Stages:
    """The stages of one pipeline's dvc.yaml, added in the order DVC lists them."""

    def __init__(self, p: Pipeline, params: dict[str, Any], named: frozenset[str] | None) -> None:
        self.p, self.params, self.named = p, params, named
        params_arg = "" if p.overrides_file is None else f" --params {p.params_file}"
        self.cmd = "python -m harness" + params_arg
        # `distributed.nproc` > 1: the stages that split their work (train, reader-train, index) run under torchrun
        # and give the numbers one process gives, so nproc is configuration, not a dependency
        nproc = int(params.get("distributed", {}).get("nproc", 1))
        # ("--": torchrun's own parser would take the stage's `--run` for an abbreviation of its `--run-path`)
        self.scaled_cmd = (f"torchrun --standalone --nproc-per-node {nproc} -m harness --" + params_arg
                           if nproc > 1 else self.cmd)
        # `eval.per_query_in_git: false` (a real test set: ~11 MB of ranking a run) keeps the rankings and per-query
        # scores in the DVC cache, out of git; the records, curves and tables stay in git either way
        self.in_git = bool(params.get("eval", {}).get("per_query_in_git", True))
        self.data = data_deps(params, named=named)
        self.stages: dict[str, dict[str, Any]] = {}
        self.groups = Groups()  # stages that may share one `foreach` template (harness/dvc_foreach.py)
        self.report_deps: list[str] = []

    def add(self, key: str, command: str, deps: list[str], params_keys: list[str], outs: list[Any],
            metrics: list[Any] | None = None, scaled: bool = False) -> None:
        self.stages[key] = self.spec(command, deps, params_keys, outs, metrics, scaled)

    def member(self, group: str, values: dict[str, str], build: Callable[[dict[str, str]], tuple]) -> None:
        """A stage that may be an item of the `foreach` entry `group`: `build` gives its `add` arguments from its
        names, and from the placeholders for those names the group's template."""
        stage, *args = build(values)
        self.add(stage, *args)
        self.groups.add(group, stage, values, self.spec(*build(placeholders(values))[1:]))

    def spec(self, command: str, deps: list[str], params_keys: list[str], outs: list[Any],
             metrics: list[Any] | None = None, scaled: bool = False) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        if self.p.wdir:
            spec["wdir"] = self.p.wdir
        spec["cmd"] = f"{self.scaled_cmd if scaled else self.cmd} {command}"
        spec["deps"] = deps
        spec["params"] = _params_dep(self.p, params_keys)
        spec["outs"] = outs
        if metrics:
            spec["metrics"] = metrics
        return spec

    def run_file(self, path: Path) -> Any:
        return uncached(path) if self.in_git or path.name not in paths.LARGE_RUN_FILES else str(path)

    def task_data(self, task: Task) -> list[str]:
        """The data a task's stages read: its dataset's folder and its corpus (the pipeline's own: `self.data`)."""
        return self.data if task.dataset is None and task.own_corpus else data_deps(self.params, task, self.named)

    def task_key(self, name: str) -> list[str]:
        """A stage depends on its own task's entry only: adding a task re-runs nothing that exists."""
        return [f"tasks.{name}"] if "tasks" in self.params else []

    def group(self, kind: str, method: str, task: Task | None = None) -> str:
        """The `foreach` entry a stage may join: its kind and method, and where it reads another dataset or corpus
        than the pipeline's own, those too (its dependency list differs)."""
        if task is None or (task.dataset is None and task.own_corpus):
            return f"{kind}.{method}"
        return f"{kind}.{method}.{task.dataset or self.params['dataset']['name']}.{task.corpus}"

    def retriever_stages(self, run_id: str, run: dict[str, Any]) -> None:
        from harness import methods as method_registry

        params, data = self.params, self.data
        target = method_registry.get(run["method"]).target
        model = str(paths.model_dir(params, run_id))
        if "from" not in run:
            train, index, evaluate = (code_files(kind, [target]) for kind in ("train", "index", "evaluate"))
            self.member(f"train.{run['method']}", {"key": run_id}, lambda v: (
                f"train-{v['key']}", f"train --run {v['key']}", [*data, *train],
                ["train_seeds", "protocol", f"runs.{v['key']}"], [str(paths.model_dir(params, v["key"]))], None, True))
        else:
            index, evaluate = (code_files(kind, [target]) for kind in ("index", "evaluate"))
        for corpus in corpus_ids(params):
            # the corpus id names the corpus and subset (size, seed): a new or changed task touches no existing index
            task = task_for_corpus(params, corpus)
            self.member(self.group("index", run["method"], task),
                        {"key": f"{run_id}-{corpus}", "run": run_id, "corpus": corpus, "model": model}, lambda v: (
                f"index-{v['key']}", f"index --run {v['run']} --corpus {v['corpus']}",
                [*self.task_data(task), v["model"], *index], ["index", f"runs.{v['run']}"],
                [str(paths.index_dir(params, v["run"], v["corpus"]))], None, True))
        for task in tasks(params).values():
            out = paths.run_dir(params, run_id, task.name)
            self.report_deps += [str(out / f) for f in ("run_facts.json", "per_query.json", "curve.json")]
            self.member(self.group("evaluate", run["method"], task),
                        {"key": f"{run_id}-{task.name}", "run": run_id, "task": task.name, "corpus": task.corpus_id,
                         "model": model}, lambda v: (
                f"evaluate-{v['key']}", f"evaluate --run {v['run']} --task {v['task']}",
                [*self.task_data(task), v["model"], str(paths.index_dir(params, v["run"], v["corpus"])), *evaluate],
                [*EVAL_KEYS, *self.task_key(v["task"])],
                [self.run_file(f) for f in paths.run_files(paths.run_dir(params, v["run"], v["task"]))],
                [uncached(paths.run_dir(params, v["run"], v["task"]) / "metrics.json")]))

    def reader_stages(self, reader: dict[str, Any]) -> None:
        params = self.params
        reader_dir = str(paths.trained_reader_dir(params))
        if "from" not in reader:
            self.add("reader-train", "reader-train", [*self.data, *code_files("reader-train")],
                     ["train_seeds", "protocol", "reader"], [reader_dir], scaled=True)
        main, code = main_task(params), code_files("vqa")
        data, keys = self.task_data(main), ["eval.split", "reader", *self.task_key(main.name)]

        # vqa.json is a record (strings, counts, hashes), not a metric: `dvc metrics show` lists the numeric
        # metrics.json files alone; VQA is in the tables and in vqa.json's `metrics`
        def answers(stage: str, command: str, out: Path, ranking: list[str]) -> tuple:
            return (stage, command, [*data, reader_dir, *ranking, *code], keys, [uncached(out / f) for f in ("predictions.json", "vqa_per_query.json", "vqa.json")])

        for run_id in params["runs"]:
            self.member("vqa", {"key": run_id}, lambda v: answers(
                f"vqa-{v['key']}", f"vqa --run {v['key']}", paths.run_dir(params, v["key"], main.name),
                [str(paths.run_dir(params, v["key"], main.name) / "trec.run")]))
            self.report_deps += [str(paths.run_dir(params, run_id, main.name) / f) for f in VQA_FILES]
        for bound in ("none", "oracle"):
            self.add(*answers(f"vqa-bound-{bound}", f"vqa --bound {bound}", paths.bound_dir(params, bound), []))
            self.report_deps += [str(paths.bound_dir(params, bound) / f) for f in VQA_FILES]

    def report_stage(self) -> None:
        # the report reads only files that identical code makes identical (latency and wall times are written
        # beside them, untracked, so they never make a regeneration look like a change)
        self.add("report", "report", [*self.report_deps, *code_files("report")],
                 ["runs", "eval", "data_seed"] + (["tasks"] if "tasks" in self.params else []),
                 [uncached(f) for f in paths.report_files(self.params)])


def uncached(path: Path | str) -> dict[str, dict[str, bool]]:
    return {str(path): {"cache": False}}


def _reader_on(params: dict[str, Any]) -> bool:
    reader = params.get("reader")
    return bool(reader and reader.get("enabled", True))


def _plots(p: Pipeline, params: dict[str, Any]) -> list[dict[str, Any]]:
    """PR-Success@K curves as DVC plots (`dvc plots show`); paths in top-level plots are relative to this file."""
    name, prefix = params["profile"], "" if p.wdir is None else p.wdir + "/"
    return [{f"{name}_{task.name}_success_at_k": {
        "title": f"PR-Success@K, {name}: {task.name} ({task.corpus_label}, {task.split})",
        "x": "K", "x_label": "K", "y_label": "PR-Success@K (%)", "template": "linear",
        "y": {f"{prefix}{paths.run_dir(params, r, task.name)}/curve.json": "PR-Success" for r in params["runs"]}}}
        for task in tasks(params).values()]


def _built(p: Pipeline, params: dict[str, Any], named: frozenset[str] | None) -> _Stages:
    s = _Stages(p, params, named)
    for run_id, run in params["runs"].items():
        s.retriever_stages(run_id, run)
    if _reader_on(params):
        s.reader_stages(params["reader"])
    s.report_stage()
    return s


def spelled_out(p: Pipeline, params: dict[str, Any], named: frozenset[str] | None = None
                ) -> dict[str, dict[str, Any]]:
    """Every stage of the pipeline spelled out, under the name it has where no `foreach` joins it (`train-<run>`,
    `index-<run>-<corpus>`, `evaluate-<run>-<task>`, `vqa-<run>`, ...)."""
    return _built(p, params, named).stages


def dvc_names(p: Pipeline, params: dict[str, Any], named: frozenset[str] | None = None) -> dict[str, str]:
    """Spelled-out stage name -> the name DVC runs it under (`<group>@<key>` where a `foreach` joined it)."""
    s = _built(p, params, named)
    s.groups.compact(s.stages)
    renamed = s.groups.renamed()
    return {name: renamed.get(name, name) for name in s.stages}


def render_dvc(p: Pipeline, params: dict[str, Any], named: frozenset[str] | None = None) -> str:
    """The pipeline's dvc.yaml: each stage lists the code it runs; stages of one kind and method that differ only
    in names share a `foreach` template (harness/dvc_foreach.py); `named`: the named corpora the pipelines prepare
    (default: the one this pipeline's dataset reads)."""
    s = _built(p, params, named)
    source = p.params_file if p.overrides_file is None else f"{p.overrides_file} over params.yaml"
    header = (f"# Written by `python -m harness pipelines` from {source}: edit that and run it again.\n"
              f"# Pipeline {params['profile']!r}: train -> index -> evaluate"
              f"{' -> reader-train -> vqa' if _reader_on(params) else ''} -> report, reading {paths.data_dir(params)}/"
              f" ({DATA_DVC}: prepare-{params['dataset']['name']}).\n")
    body = {"stages": s.groups.compact(s.stages), "plots": _plots(p, params)}
    return header + yaml.dump(body, Dumper=NoAliases, sort_keys=False, width=120)


def check_runs(params: dict[str, Any]) -> None:
    """The dataset source, every run's method params, protocol and index backend, before any file is written
    (harness/run_params.py)."""
    from harness import methods as method_registry
    from harness.data.builders import BUILDERS
    from harness.index import LATE_INDEXES
    from harness.index.dense import TYPES
    from harness.run_params import check_run

    BUILDERS.check(params["dataset"]["source"], params_file(params))
    for run_id, run in params["runs"].items():
        spec = method_registry.get(run["method"])
        check_run(params, run_id, method_registry.default_params(spec), method_registry.params_schema(spec))
        index = deep_merge(params["index"], run.get("index") or {})
        for field, value, allowed in (("late.backend", (index.get("late") or {}).get("backend", "exact"), LATE_INDEXES.names),
                                      ("dense.type", (index.get("dense") or {}).get("type", "flat"), TYPES)):
            if value not in allowed:
                scope = f"runs.{run_id}.index" if run.get("index") else "index"
                raise InputError(params_file(params), f"{scope}.{field}",
                                 f"must be one of {', '.join(allowed)}, got {value!r}")


def rendered(root: Path = ROOT) -> dict[str, str]:
    """What every pipeline's written files should hold, by path relative to the root."""
    out: dict[str, str] = {}
    loaded: list[tuple[Pipeline, dict[str, Any]]] = []
    for p in discover(root):
        params_text = render_params(p, root)
        if p.overrides_file is not None:
            out[p.params_file] = params_text
        check = root / f".{Path(p.params_file).name}.{p.name}.check"
        check.write_text(params_text, encoding="utf-8")
        try:
            params = load_params(check)  # never write params that the stages would reject
            check_runs(params)
        except InputError as exc:
            raise InputError(p.overrides_file or p.params_file, exc.field, exc.problem) from None
        finally:
            check.unlink()
        loaded.append((p, params))
    datasets = owners(loaded)  # every dataset and named corpus the pipelines read, prepared once
    corpora = corpus_owners(datasets)
    for p, params in loaded:
        check_tasks(p, params, datasets, corpora)
        out[p.dvc_file] = render_dvc(p, params, frozenset(corpora))
    out[DATA_DVC] = render_data_dvc(datasets, corpora)
    from harness import studies

    out[studies.STUDIES_DVC] = studies.render_dvc(root)
    return out


def write_all(root: Path = ROOT) -> list[str]:
    """Write every pipeline's params.yaml and dvc.yaml; returns the files that changed."""
    changed = []
    for rel, text in rendered(root).items():
        f = root / rel
        if not f.is_file() or f.read_text(encoding="utf-8") != text:
            write_text(f, text)
            changed.append(rel)
    return changed


def stale(root: Path = ROOT) -> list[str]:
    return [rel for rel, text in rendered(root).items()
            if not (root / rel).is_file() or (root / rel).read_text(encoding="utf-8") != text]
