"""Where every stage reads and writes, relative to the project root, and which files each writes (the generated
dvc.yaml lists them as outputs). Each pipeline (`params['profile']`) owns its folders, so pipelines never write
over one another; the prepared data is the dataset's (`dataset.name`), read by every pipeline naming it
(harness/data_stages.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.data.schema import named_corpus_dir
from harness.params import params_file as params_file  # re-exported: error messages name the params file
from harness.tasks import Task, is_scaling_study, is_seed_study, tasks

# what DVC tracks of a run (identical for identical code and inputs); run.json, the full record, also holds the
# commit, the device, wall times and latency, and lives beside them untracked by DVC
RUN_FILES = ("run_facts.json", "trec.run", "per_query.json", "curve.json")
LARGE_RUN_FILES = ("trec.run", "per_query.json")  # grow with the query count; see eval.per_query_in_git


def fetch_record(params: dict[str, Any]) -> Path:
    """What the dataset's fetch stage verified; the downloads themselves stay in downloads/<card name>/."""
    return Path("downloads") / f"{params['dataset']['name']}.fetch.json"


def data_dir(params: dict[str, Any]) -> Path:
    """The prepared dataset: one folder per `dataset.name`, shared by the pipelines naming it."""
    return Path("data") / str(params["dataset"]["name"])


def task_data_dir(params: dict[str, Any], task: Task | None) -> Path:
    """The dataset folder a task's questions come from: the pipeline's own, or the one the task names."""
    return data_dir(params if task is None or task.dataset is None else {"dataset": {"name": task.dataset}})


def corpus_dir(name: str) -> Path:
    """A named corpus, prepared once for every dataset that reads it (harness/data/prepared_corpus.py)."""
    return named_corpus_dir(data_dir({"dataset": {"name": name}}), name)


def model_dir(params: dict[str, Any], run_id: str) -> Path:
    """A run's model; `runs.<id>.from: <pipeline>` evaluates the model that pipeline trained (no retraining), under
    the same run id or the one `from_run` names."""
    run = params["runs"].get(run_id, {})
    return Path("models") / run.get("from", params["profile"]) / run.get("from_run", run_id)


def reader_dir(params: dict[str, Any]) -> Path:
    """The pipeline's one VQA reader, shared by every retriever run."""
    return Path("models") / params["profile"] / "_reader"


def trained_reader_dir(params: dict[str, Any]) -> Path:
    """The reader this pipeline answers with: its own, or with `reader.from: <pipeline>` (set by `models_from`)
    the one that pipeline trained."""
    return reader_dir({**params, "profile": params["reader"].get("from", params["profile"])})


def checkpoint_dir(params: dict[str, Any], run_id: str) -> Path:
    # Outside the DVC output on purpose: DVC deletes a stage's outputs before re-running it.
    return Path("checkpoints") / params["profile"] / run_id


def index_dir(params: dict[str, Any], run_id: str, corpus_id: str) -> Path:
    return Path("indexes") / params["profile"] / run_id / corpus_id


def results_dir(params: dict[str, Any]) -> Path:
    return Path("results") / params["profile"]


def run_dir(params: dict[str, Any], run_id: str, task: str) -> Path:
    return results_dir(params) / "runs" / task / run_id


def run_files(out: Path) -> list[Path]:
    return [out / f for f in RUN_FILES]


def bound_dir(params: dict[str, Any], bound: str) -> Path:
    return results_dir(params) / "vqa_bounds" / bound


def timing_file(params: dict[str, Any], stage: str) -> Path:
    """Wall times and other run-to-run noise, kept out of models and indexes so an identical re-run changes
    nothing downstream."""
    return results_dir(params) / "timings" / f"{stage}.json"


def tables_dir(params: dict[str, Any]) -> Path:
    return results_dir(params) / "tables"


def plots_dir(params: dict[str, Any]) -> Path:
    return results_dir(params) / "plots"


def success_plot_file(params: dict[str, Any], task: str, first: bool) -> Path:
    """PR-Success@K over K for one task; the main (first) task's plot keeps the short name."""
    return plots_dir(params) / ("success_at_k.png" if first else f"success_at_k_{task}.png")


def seeds_plot_file(params: dict[str, Any]) -> Path:
    return plots_dir(params) / "seeds_pr_success_5.png"


def report_files(params: dict[str, Any]) -> list[Path]:
    """The report stage's deterministic outputs: tables, plus the study tables and plots where they apply."""
    tables, plots = tables_dir(params), plots_dir(params)
    files = [results_dir(params) / "long.csv"] + [tables / f for f in (
        "main.md", "main.csv", "summary.md", "paired.md", "paired.csv")]
    if len(tasks(params)) > 1:
        files.append(tables / "tasks.md")
    if is_scaling_study(params):
        files += [tables / "scaling.md", tables / "scaling.csv", plots / "scaling.png", plots / "scaling_index_bytes.png"]
    if is_seed_study(params):
        files += [tables / f for f in ("seeds.md", "seeds.csv", "seeds_summary.md")] + [seeds_plot_file(params)]
    files += [success_plot_file(params, name, i == 0) for i, name in enumerate(tasks(params))]
    return files
