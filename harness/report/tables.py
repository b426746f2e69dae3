"""The pipeline's tables, all pivots of its long table (harness/report/long.py): the main task's table with
95% paired-bootstrap intervals, the tasks side by side, a short summary (the README quotes it), the paired
differences against the reference run, and the machine-dependent latency table apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from harness import paths
from harness.atomic import write_text
from harness.metrics.bootstrap import paired_difference
from harness.metrics.significance import ALPHA, METHOD, holm, paired_permutation_p
from harness.report import scaling, seeds
from harness.report.long import CEILING_RUN, CI_METRICS, RANDOM_RUN, latency_table, long_table, records
from harness.tasks import is_scaling_study, is_seed_study, main_task, scaling_tasks, tasks

MARK = "†"  # differs from the reference run, Holm-corrected paired permutation test
SUMMARY_METRICS = ("PR-Success@5", "PR-Success@10", "PR-Success@20", "PR-Success@50", "VQA")
NOTE = ("Metrics in percent with 95% paired-bootstrap intervals over queries. PR-Success@K: a query counts if any "
        "top-K passage contains an answer (the FLMR paper's PRRecall@K). `random ranking`: the expected level of a "
        "uniformly random ranking; `answer in corpus`: the share of queries with an answer-bearing passage anywhere "
        "in the corpus (the ceiling of PR-Success at any depth). VQA/EM: the pipeline's reader on each run's top-K "
        "passages; the reader-bound rows read no passage, or one passage that holds an answer.")


def _fmt(v: Any, lo: Any = None, hi: Any = None) -> str:
    if v is None or pd.isna(v):
        return "-"
    if lo is not None and not pd.isna(lo):
        return f"{v:.1f} [{lo:.1f}, {hi:.1f}]"
    return f"{v:.1f}"


REFERENCE_ROWS = ("no retrieval", "oracle passage", RANDOM_RUN, CEILING_RUN)


def _rows(long: pd.DataFrame, task: str) -> list[str]:
    """The task's runs in params order, then the reader bounds and the reference levels."""
    runs = list(dict.fromkeys(long.loc[long["task"] == task, "run"]))
    return [r for r in runs if r not in REFERENCE_ROWS] + [r for r in REFERENCE_ROWS if r in runs]


def _get(long: pd.DataFrame, task: str, run: str, metric: str) -> pd.Series | None:
    hit = long[(long["task"] == task) & (long["run"] == run) & (long["metric"] == metric)]
    return None if hit.empty else hit.iloc[0]


def main_table(long: pd.DataFrame, task: str) -> pd.DataFrame:
    """Wide numeric table of one task: a row per run, then the reader bounds and the reference levels."""
    out = []
    for run in _rows(long, task):
        sub = long[(long["task"] == task) & (long["run"] == run)]
        first = sub.iloc[0]
        row: dict[str, Any] = {"run": run, "method": first["method"], "queries": first["queries"],
                               "passages": first["corpus_size"]}
        for _, r in sub.iterrows():
            m = r["metric"]
            if m == "PR-Success@any":
                for k in ("PR-Success@5", "PR-Success@10", "PR-Success@20", "PR-Success@50"):
                    row[k] = r["value"]
                continue
            row[m] = r["value"]
            if m in CI_METRICS and not pd.isna(r["lo"]):
                row[f"{m} lo"], row[f"{m} hi"] = r["lo"], r["hi"]
        out.append(row)
    return pd.DataFrame(out)


def display_frame(wide: pd.DataFrame) -> pd.DataFrame:
    """The main columns, formatted: `value [lo, hi]` for metrics with intervals, thousands separators."""
    shown = pd.DataFrame({"run": wide["run"], "method": wide["method"]})
    for m in (*CI_METRICS, "EM", "answer in top-K"):
        if m in wide and wide[m].notna().any():
            shown[m] = [_fmt(r[m], r.get(f"{m} lo"), r.get(f"{m} hi")) for _, r in wide.iterrows()]
    for col in ("queries", "passages", "index bytes"):
        if col in wide:
            shown[col] = wide[col].map(lambda v: "-" if pd.isna(v) else f"{int(v):,}")
    return shown


def to_markdown(wide: pd.DataFrame, paired: pd.DataFrame, dirty: bool, reader: str = "") -> str:
    return (mark_significance(display_frame(wide), paired).to_markdown(index=False) + "\n\n" + NOTE + reader
            + significance_note(paired) + _dirty_note(dirty) + "\n")


def reader_note(params: dict[str, Any]) -> str:
    """What the VQA columns mean for this pipeline's reader: an extractive reader's ceiling, a question sample."""
    reader = params.get("reader", {})
    if not reader.get("enabled", True):
        return ""
    parts = []
    if reader.get("backbone", {}).get("kind") == "extractive":
        parts.append("The reader is extractive: it answers only with text from a passage, so `answer in top-K` (the "
                     "share of questions whose top-K passages hold an answer) is its ceiling on each row.")
    sample = reader.get("questions")
    if sample:
        parts.append(f"VQA, EM and answer in top-K are over a seeded sample of {int(sample['size']):,} of the "
                     f"evaluation questions (reader.questions, seed {sample['seed']}); PR-Success over all of them.")
    return "".join(" " + p for p in parts)


def _dirty_note(dirty: bool) -> str:
    return ("\n\n**Built from a dirty working tree (--allow-dirty): these numbers are not reproducible from a commit.**"
            if dirty else "")


def tasks_markdown(long: pd.DataFrame, task_names: list[str], foreign: dict[str, str] | None = None) -> str:
    """PR-Success@5 and @20 of every run on every task, with the random level and the ceiling per task;
    `foreign`: the tasks asking another dataset's questions, with that dataset's name."""
    foreign = foreign or {}
    runs = list(dict.fromkeys(r for t in task_names for r in _rows(long, t)))
    table = []
    for run in runs:
        row = {"run": run}
        for t in task_names:
            for m in ("PR-Success@5", "PR-Success@20"):
                r = _get(long, t, run, m) if run != CEILING_RUN else _get(long, t, run, "PR-Success@any")
                row[f"{t}: {m}"] = "-" if r is None else _fmt(r["value"], r["lo"], r["hi"])
        if any(v != "-" for k, v in row.items() if k != "run"):
            table.append(row)
    corpora = "; ".join(f"{t}: {foreign[t] + ' questions against ' if t in foreign else ''}"
                        f"{long.loc[long['task'] == t, 'corpus'].iloc[0]} "
                        f"({int(long.loc[long['task'] == t, 'corpus_size'].iloc[0]):,} passages, "
                        f"{long.loc[long['task'] == t, 'split'].iloc[0]} split)" for t in task_names)
    return pd.DataFrame(table).to_markdown(index=False) + f"\n\nTasks: {corpora}. " + NOTE + "\n"


def summary_markdown(wide: pd.DataFrame, paired: pd.DataFrame) -> str:
    """The short table the README quotes (a test keeps the two identical)."""
    cols = [m for m in SUMMARY_METRICS if m in wide and wide[m].notna().any()]
    shown = pd.DataFrame({"run": wide["run"]})
    for m in cols:
        shown[m] = wide[m].map(_fmt)
    return mark_significance(shown, paired).to_markdown(index=False) + "\n" + significance_note(paired).strip() + "\n"


def latency_wide(lat: pd.DataFrame) -> pd.DataFrame:
    wide = lat.pivot_table(index=["task", "run", "device"], columns="measure", values="value", sort=False).reset_index()
    wide.columns.name = None
    return wide


def latency_markdown(lat: pd.DataFrame) -> str:
    if lat.empty:
        return "No runs.\n"
    wide = latency_wide(lat)
    return (wide.to_markdown(index=False, floatfmt=".2f") + "\n\nMachine-dependent: batch-1 latency after warm-up "
            "(p50 / p95 ms per query), batched throughput over the whole split, wall times of training and "
            "index building. Not part of the reproducibility check.\n")


PAIRED_METRICS = ("PR-Success@5", "VQA")  # each its own Holm family: does retrieval differ, does the answer


def _vqa_per_query(params: dict[str, Any], run_id: str, task: str) -> dict[str, float]:
    """The reader's per-question VQA scores of a run (its seeded question sample), or none."""
    path = paths.run_dir(params, run_id, task) / "vqa_per_query.json"
    return json.loads(path.read_text(encoding="utf-8")).get("VQA", {}) if path.is_file() else {}


def paired_table(params: dict[str, Any], metrics: tuple[str, ...] = PAIRED_METRICS) -> pd.DataFrame:
    """Every run against the reference run (`eval.reference_run`, default the first) on the main task, per metric
    in `metrics` that the runs have: mean difference in points, its 95% paired-bootstrap interval, the paired
    permutation test's p-value and the Holm-adjusted one over that metric's comparisons
    (harness/metrics/significance.py). VQA pairs over the reader's question sample."""
    main = main_task(params).name
    recs = [(rec, {**pq, "VQA": _vqa_per_query(params, rec["run_id"], main)})
            for task, rec, pq in records(params) if task == main]
    ids = [rec["run_id"] for rec, _ in recs]
    ref_id = params["eval"].get("reference_run")
    ref_id = ref_id if ref_id in ids else ids[0]  # a pipeline without that run compares with its first row
    ref = next(pq for rec, pq in recs if rec["run_id"] == ref_id)
    resamples, permutations = int(params["eval"].get("bootstrap", 1000)), int(params["eval"].get("permutations", 10000))
    seed = int(params["data_seed"])
    rows = []
    for metric in metrics:
        family = []
        for rec, pq in recs:
            if rec["run_id"] == ref_id or not pq.get(metric) or not ref.get(metric):
                continue
            d = paired_difference(pq[metric], ref[metric], resamples, seed)
            p = paired_permutation_p(pq[metric], ref[metric], permutations, seed)
            family.append({"run": rec["run_id"], "reference": ref_id, "metric": metric, "difference": d["diff"],
                           "lo": d["lo"], "hi": d["hi"], "p": p, "queries": d["n"]})
        adjusted, reject = holm([r["p"] for r in family]) if family else ([], [])
        for row, p_holm, significant in zip(family, adjusted, reject):
            row["p (Holm)"], row["significant"] = p_holm, significant
        rows += family
    return pd.DataFrame(rows, columns=["run", "reference", "metric", "difference", "lo", "hi", "p", "p (Holm)",
                                       "significant", "queries"])


def significance_note(paired: pd.DataFrame) -> str:
    if paired.empty or "significant" not in paired:
        return ""
    ref, metrics = paired["reference"].iloc[0], " and ".join(dict.fromkeys(paired["metric"]))
    families = "; each metric's comparisons a family of their own" if paired["metric"].nunique() > 1 else ""
    return (f"\n\n{MARK} after {metrics}: differs from the reference run `{ref}` at alpha {ALPHA} ({METHOD}"
            f"{families}); `(ref)` marks the reference. Differences and p-values: tables/paired.md.")


def mark_significance(shown: pd.DataFrame, paired: pd.DataFrame) -> pd.DataFrame:
    """Formatted columns with the paired test's outcome appended to each tested metric's cells."""
    if paired.empty or "significant" not in paired:
        return shown  # (a paired table from before the test existed carries no decision)
    ref, shown = paired["reference"].iloc[0], shown.copy()
    for metric, tested in paired.groupby("metric", sort=False):
        if metric not in shown:
            continue
        significant = dict(zip(tested["run"], tested["significant"]))
        shown[metric] = [v + (" (ref)" if run == ref else f" {MARK}" if significant.get(run) else "")
                         for run, v in zip(shown["run"], shown[metric])]
    return shown


def write_latency(params: dict[str, Any]) -> None:
    """Machine-dependent figures, in files of their own (not DVC outputs: they differ at every run)."""
    lat = latency_table(params)
    write_text(paths.results_dir(params) / "latency.csv", lat.to_csv(index=False, float_format="%.4f"))
    write_text(paths.results_dir(params) / "latency.md", latency_markdown(lat))
    if is_scaling_study(params):
        scaling.latency_plot(params, lat)


def write_tables(params: dict[str, Any]) -> pd.DataFrame:
    long = long_table(params)
    results, out = paths.results_dir(params), paths.tables_dir(params)
    write_text(results / "long.csv", long.to_csv(index=False, float_format="%.4f"))
    write_latency(params)
    main = main_task(params).name
    wide = main_table(long, main)
    dirty = bool(long["dirty"].any())
    paired = paired_table(params)
    write_text(Path(out) / "main.csv", wide.to_csv(index=False, float_format="%.4f"))
    write_text(Path(out) / "main.md", to_markdown(wide, paired, dirty, reader_note(params)))
    write_text(Path(out) / "summary.md", summary_markdown(wide, paired))
    names = list(tasks(params))
    if len(names) > 1:
        foreign = {t.name: t.dataset for t in tasks(params).values() if t.dataset is not None}
        write_text(Path(out) / "tasks.md", tasks_markdown(long, names, foreign) + _dirty_note(dirty))
    if is_scaling_study(params):
        scaling.write_scaling(params, long[long["task"].isin(scaling_tasks(params))])
    if is_seed_study(params):
        seeds.write_seeds(params, long)
    write_text(Path(out) / "paired.csv", paired.to_csv(index=False, float_format="%.4f"))
    write_text(Path(out) / "paired.md", paired.to_markdown(index=False, floatfmt=".4g") +
               "\n\nDifference in percentage points against the reference run with its 95% paired-bootstrap "
               f"interval; p: {METHOD}; `significant`: Holm-adjusted p < {ALPHA}." + _dirty_note(dirty) + "\n")
    return wide
