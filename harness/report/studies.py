"""Study tables that set several pipelines side by side (written by `python -m harness site` from their committed
long tables; no stage trains or scores anything here). Generalization: the okvqa_mini runs, trained on OK-VQA
train only, against the in-domain task and, zero-shot, against other datasets and corpora, a column each."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from harness.atomic import write_text
from harness.data.provided import missing_input
from harness.metrics.bootstrap import paired_difference
from harness.params import load_params
from harness.report.long import CEILING_RUN, RANDOM_RUN
from harness.report.plots import legend_outside

# (pipeline, task, metric, column): what each column reports
GENERALIZATION = (
    ("okvqa_mini", "main", "PR-Success@5", "OK-VQA x wiki_vital (in-domain)"),
    ("okvqa_gs_mini", "main", "PR-Success@5", "OK-VQA x Google snippets"),
    ("fvqa_wiki", "main", "PR-Success@5", "FVQA x wiki_vital"),
    ("fvqa_facts", "main", "PR-Success@5", "FVQA x facts: PR-Success@5"),
    ("fvqa_facts", "main", "Success@5", "FVQA x facts: gold Success@5"),
    ("aokvqa_wiki", "main", "PR-Success@5", "A-OKVQA val x wiki_vital"),
)
# the reader's VQA of the same runs on each task with answers (okvqa_mini's reader, `reader.from`)
GENERALIZATION_VQA = (
    ("okvqa_mini", "main", "VQA", "OK-VQA x wiki_vital (in-domain)"),
    ("okvqa_gs_mini", "main", "VQA", "OK-VQA x Google snippets"),
    ("fvqa_wiki", "main", "VQA", "FVQA x wiki_vital"),
    ("fvqa_facts", "main", "VQA", "FVQA x facts"),
    ("aokvqa_wiki", "main", "VQA", "A-OKVQA val x wiki_vital"),
)
BOUND_RUNS = ("no retrieval", "oracle passage")  # the reader bounds' rows in a long table
NOT_RUN = "not run"
NOT_PROVIDED = "not provided"  # the pipeline's user-supplied input (the A-OKVQA val file) is absent


def _write_table(out: Path, frame: pd.DataFrame, note: str) -> None:
    """A study table as markdown (with its note) and CSV beside it."""
    write_text(out, frame.to_markdown(index=False, disable_numparse=True) + note)
    write_text(out.with_suffix(".csv"), frame.to_csv(index=False))


def _absent(pipeline: str, root: Path) -> str:
    """What a column with no committed results says: its input is not provided here, or it is not run yet."""
    params_file = root / "pipelines" / pipeline / "params.yaml"
    if params_file.is_file() and missing_input(load_params(params_file)):
        return NOT_PROVIDED
    return NOT_RUN


def _cell(long: pd.DataFrame | str, task: str, run: str, metric: str) -> str:
    if isinstance(long, str):
        return long
    hit = long[(long["task"] == task) & (long["run"] == run) & (long["metric"] == metric)]
    if hit.empty:
        return "-"
    r = hit.iloc[0]
    return f"{r['value']:.1f}" if pd.isna(r["lo"]) else f"{r['value']:.1f} [{r['lo']:.1f}, {r['hi']:.1f}]"


def _longs(pipelines: list[str], results: Path) -> dict[str, pd.DataFrame | str]:
    """Each pipeline's long table, or what its column says instead (not run, not provided)."""
    return {p: (pd.read_csv(results / p / "long.csv") if (results / p / "long.csv").is_file()
                else _absent(p, results.parent)) for p in dict.fromkeys(pipelines)}


def generalization_frame(results: Path, columns: tuple = GENERALIZATION) -> pd.DataFrame:
    """A row per okvqa_mini run (plus the random level, or for VQA the reader bounds), a column per (dataset x
    corpus, metric)."""
    longs = _longs([p for p, *_ in columns], results)
    source, metric = longs[columns[0][0]], columns[0][2]
    runs = [] if isinstance(source, str) else [r for r in dict.fromkeys(source["run"]) if r != CEILING_RUN
                                      and source.loc[source["run"] == r, "metric"].eq(metric).any()]
    after = list(BOUND_RUNS) if metric == "VQA" else [RANDOM_RUN]
    runs = [r for r in runs if r not in after] + after
    rows = []
    for run in runs:
        row = {"run": run}
        for pipeline, task, metric, column in columns:
            row[column] = _cell(longs[pipeline], task, run, metric)
        rows.append(row)
    return pd.DataFrame(rows)


def generalization_points(results: Path) -> pd.DataFrame:
    """The trained and zero-shot runs' values with their intervals, a row per (column, run), for the plot."""
    longs = _longs([p for p, *_ in GENERALIZATION], results)
    rows = []
    for pipeline, task, metric, column in GENERALIZATION:
        long = longs[pipeline]
        if isinstance(long, str):
            continue
        hit = long[(long["task"] == task) & (long["metric"] == metric) & ~long["run"].isin([RANDOM_RUN, CEILING_RUN])]
        rows += [{"column": column, "run": r["run"], "value": r["value"], "lo": r["lo"], "hi": r["hi"]}
                 for _, r in hit.iterrows()]
    return pd.DataFrame(rows, columns=["column", "run", "value", "lo", "hi"])


def plot_generalization(results: Path) -> Path:
    """Grouped bars: a group per dataset x corpus column, a bar per run, 95% intervals as error bars."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from harness.atomic import atomic_path

    points = generalization_points(results)
    columns, runs = list(dict.fromkeys(points["column"])), list(dict.fromkeys(points["run"]))
    fig, ax = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(1, len(runs))
    for i, run in enumerate(runs):
        sel = points[points["run"] == run].set_index("column").reindex(columns)
        x = np.arange(len(columns)) + (i - (len(runs) - 1) / 2) * width
        err = np.vstack([sel["value"] - sel["lo"], sel["hi"] - sel["value"]])
        ax.bar(x, sel["value"], width, yerr=np.nan_to_num(err), capsize=2, label=run)
    # wrapped, so neighbouring group labels never run into each other
    labels = [textwrap.fill(c.replace(": ", ":\n"), 18, replace_whitespace=False, break_on_hyphens=False)
              for c in columns]
    ax.set_xticks(np.arange(len(columns)), labels, fontsize=7)
    ax.set_ylabel("percent (95% interval over queries)")
    ax.set_ylim(0, 100)
    ax.set_title("okvqa_mini runs on each dataset x corpus (PR-Success@5; FVQA facts also gold Success@5)", fontsize=9)
    legend_outside(ax)
    fig.tight_layout()
    out = results / "studies" / "generalization.png"
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})
    plt.close(fig)
    return out


def write_generalization(results: Path) -> Path:
    plot_generalization(results)
    frame = generalization_frame(results)
    out = results / "studies" / "generalization.md"
    note = ("\n\nPercent, 95% paired-bootstrap intervals over each task's queries. Every run is trained on OK-VQA "
            "train against wiki_vital (pipelines/okvqa_mini) and evaluated here as it is. `not run`: that "
            "pipeline's results are not committed yet (`dvc repro pipelines/<name>/dvc.yaml`); `not provided`: its "
            "input is not on this machine (A-OKVQA: put aokvqa_v1p0_val.json in dataset.aokvqa.root or "
            "$FLMR_BENCH_AOKVQA_ROOT). PR-Success@5: a "
            "top-5 passage holds an answer; gold Success@5: the question's own FVQA fact is in the top 5.\n")
    _write_table(out, frame, note)
    vqa_note = ("\n\nVQA (official OK-VQA / VQA v2 accuracy), percent, 95% bootstrap intervals over each task's "
                "seeded question sample (reader.questions). Every row answers with okvqa_mini's extractive reader "
                "(MiniLM, trained on OK-VQA train) from that run's top 5 passages; `no retrieval` reads the vision "
                "text alone, `oracle passage` one passage that holds an answer; `-`: that pipeline has no such row. "
                "FVQA has one answer per question, so its VQA is exact match against a single human answer. "
                "`not run` / `not provided` as in generalization.md.\n")
    _write_table(results / "studies" / "generalization_vqa.md", generalization_frame(results, GENERALIZATION_VQA),
                 vqa_note)
    return out


# (results folder, run, row label): flmr_roi with the perfect and the noisy toy detector, beside the rows
# without regions
TOY_DETECTOR = (
    ("toy", "dpr", "dpr (text only)"),
    ("toy", "flmr", "flmr (whole image, no regions)"),
    ("toy", "flmr_roi", "flmr_roi, perfect detector (the drawn boxes and true labels)"),
    ("toy_noisy_detector", "flmr_roi", "flmr_roi, noisy detector (25% missed, moved, mislabelled)"),
)
DETECTOR_METRICS = ("PR-Success@5", "PR-Success@10")


def toy_detector_frame(results: Path) -> pd.DataFrame:
    longs = {p: (pd.read_csv(results / p / "long.csv") if (results / p / "long.csv").is_file()
                 else _absent(p, results.parent)) for p in dict.fromkeys(p for p, *_ in TOY_DETECTOR)}
    return pd.DataFrame([{"row": label, **{m: _cell(longs[p], "main", run, m) for m in DETECTOR_METRICS}}
                         for p, run, label in TOY_DETECTOR])


def write_toy_detector(results: Path) -> Path:
    out = results / "studies" / "toy_detector.md"
    note = ("\n\nToy test split, percent, 95% paired-bootstrap intervals over queries. The perfect detector's rows "
            "come from the embedded default (`dvc.yaml`), the noisy one from `pipelines/toy_noisy_detector` (the same "
            "world but for the regions). The toy world names each region with its true shape, so the perfect "
            "detector is an upper bound on what regions can add here.\n")
    frame = toy_detector_frame(results)
    _write_table(out, frame, note)
    return out


# the toy world with 5 (the embedded default), 20 and 80 look-alike distractors per kind
TOY_DISTRACTORS = (("toy", 5), ("toy_distractors_20", 20), ("toy_distractors_80", 80))
TOY_ROWS = ("dpr", "colbert_text", "flmr_feature", "flmr", "flmr_roi")
LEAD = ("flmr", "dpr")  # the paper's claim: FLMR over single-vector DPR
DISTRACTOR_METRIC = "PR-Success@5"


def _lead(results: Path, pipeline: str) -> str:
    """flmr - dpr in points with its 95% paired-bootstrap interval over the pipeline's test queries."""
    per_q = [results / pipeline / "runs" / "main" / run / "per_query.json" for run in LEAD]
    if not all(f.is_file() for f in per_q):
        return "-"
    a, b = (json.loads(f.read_text(encoding="utf-8"))[DISTRACTOR_METRIC] for f in per_q)
    params = load_params(_params_file(pipeline))  # its own resamples and seed, as its tables
    d = paired_difference(a, b, int(params["eval"].get("bootstrap", 1000)), int(params["data_seed"]))
    return f"{d['diff']:+.1f} [{d['lo']:+.1f}, {d['hi']:+.1f}]"


def toy_distractors_frame(results: Path) -> pd.DataFrame:
    longs = _longs([p for p, _ in TOY_DISTRACTORS], results)
    columns = {p: f"{n} per kind" for p, n in TOY_DISTRACTORS}
    rows = [{"run": run, **{columns[p]: _cell(longs[p], "main", run, DISTRACTOR_METRIC) for p, _ in TOY_DISTRACTORS}}
            for run in (*TOY_ROWS, RANDOM_RUN)]
    rows.append({"run": f"{LEAD[0]} - {LEAD[1]} (paired)",
                 **{columns[p]: longs[p] if isinstance(longs[p], str) else _lead(results, p)
                    for p, _ in TOY_DISTRACTORS}})
    passages = {columns[p]: ("-" if isinstance(longs[p], str) or "corpus_size" not in longs[p] else
                             f"{int(longs[p].loc[longs[p]['task'] == 'main', 'corpus_size'].iloc[0]):,}")
                for p, _ in TOY_DISTRACTORS}
    rows.append({"run": "passages", **passages})
    return pd.DataFrame(rows)


def _params_file(results_folder: str) -> Path:
    from harness import dvcfile  # the pipeline registry (the embedded default writes results/toy)

    return dvcfile.ROOT / dvcfile.get("default" if results_folder == "toy" else results_folder).params_file


def write_toy_distractors(results: Path) -> Path:
    out = results / "studies" / "toy_distractors.md"
    note = (f"\n\n{DISTRACTOR_METRIC} on the toy test split, percent, 95% paired-bootstrap intervals over queries; "
            f"`{LEAD[0]} - {LEAD[1]}`: the paired difference in points. 5 per kind is the embedded default "
            "(`dvc.yaml`); 20 and 80 are `pipelines/toy_distractors_20` and `_80` (the same kinds and facts, a fresh "
            "draw of images and questions). Every row is trained on its own world under the same protocol.\n")
    frame = toy_distractors_frame(results)
    _write_table(out, frame, note)
    return out
