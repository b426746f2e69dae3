"""Corpus scaling: a pipeline whose tasks ask the same questions against corpora of three or more sizes gets a
table and plots of each run against corpus size. PR-Success rises with corpus size partly by chance (a common
answer appears in more passages), so every figure stands beside the random-ranking level and the ceiling (the
share of queries with an answer-bearing passage in that corpus), and two columns separate skill from chance:
points above random, and the share of the ceiling reached."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on CI machines
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from harness import paths  # noqa: E402
from harness.atomic import atomic_path, write_text  # noqa: E402
from harness.report.long import CEILING_RUN, RANDOM_RUN  # noqa: E402
from harness.tasks import scaling_tasks  # noqa: E402

KS = (5, 20)


def _value(long: pd.DataFrame, task: str, run: str, metric: str) -> pd.Series | None:
    hit = long[(long["task"] == task) & (long["run"] == run) & (long["metric"] == metric)]
    return None if hit.empty else hit.iloc[0]


def scaling_frame(long: pd.DataFrame) -> pd.DataFrame:
    """One row per run x corpus size (numbers; percent for PR-Success)."""
    task_size = long.drop_duplicates("task").set_index("task")["corpus_size"].astype(int).to_dict()
    runs = [r for r in dict.fromkeys(long["run"]) if r not in (RANDOM_RUN, CEILING_RUN)
            and long.loc[long["run"] == r, "metric"].str.startswith("PR-Success@").any()]
    rows = []
    for run in runs:
        for task, size in sorted(task_size.items(), key=lambda kv: kv[1]):
            ceiling = _value(long, task, CEILING_RUN, "PR-Success@any")
            row: dict[str, Any] = {"run": run, "task": task, "passages": size,
                                   "ceiling": None if ceiling is None else ceiling["value"]}
            for k in KS:
                got, rnd = _value(long, task, run, f"PR-Success@{k}"), _value(long, task, RANDOM_RUN, f"PR-Success@{k}")
                if got is None:
                    continue
                row[f"PR-Success@{k}"], row[f"@{k} lo"], row[f"@{k} hi"] = got["value"], got["lo"], got["hi"]
                row[f"random@{k}"] = None if rnd is None else rnd["value"]
                row[f"@{k} above random"] = None if rnd is None else got["value"] - rnd["value"]
                row[f"@{k} share of ceiling"] = (None if not row["ceiling"] else 100.0 * got["value"] / row["ceiling"])
            size_row = _value(long, task, run, "index bytes")
            row["index bytes"] = None if size_row is None else size_row["value"]
            rows.append(row)
    return pd.DataFrame(rows)


def growth_exponent(sizes: np.ndarray, values: np.ndarray) -> float:
    """b in value ~ size^b, by least squares on log-log (numpy's polyfit)."""
    keep = (sizes > 0) & (values > 0)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(sizes[keep]), np.log(values[keep]), 1)[0])


def scaling_markdown(frame: pd.DataFrame) -> str:
    shown = pd.DataFrame({"run": frame["run"], "passages": frame["passages"].map(lambda v: f"{int(v):,}")})
    for k in KS:
        if f"PR-Success@{k}" not in frame:
            continue
        shown[f"PR-Success@{k}"] = [f"{v:.1f} [{lo:.1f}, {hi:.1f}]" for v, lo, hi in
                                    zip(frame[f"PR-Success@{k}"], frame[f"@{k} lo"], frame[f"@{k} hi"])]
        shown[f"random@{k}"] = frame[f"random@{k}"].map(lambda v: f"{v:.1f}")
        shown[f"@{k} above random"] = frame[f"@{k} above random"].map(lambda v: f"{v:+.1f}")
        shown[f"@{k} share of ceiling"] = frame[f"@{k} share of ceiling"].map(lambda v: f"{v:.1f}")
    shown["ceiling"] = frame["ceiling"].map(lambda v: f"{v:.1f}")
    shown["index bytes"] = frame["index bytes"].map(lambda v: "-" if pd.isna(v) else f"{int(v):,}")
    exps = {run: growth_exponent(g["passages"].to_numpy(float), g["index bytes"].to_numpy(float))
            for run, g in frame.groupby("run", sort=False)}
    return (shown.to_markdown(index=False, disable_numparse=True) + "\n\nPR-Success in percent with 95% paired-bootstrap intervals over "
            "queries. `random@K`: the expected PR-Success@K of a uniformly random ranking of that corpus; `ceiling`: "
            "the share of queries with an answer-bearing passage in it; `above random`: points above the random "
            "level; `share of ceiling`: PR-Success@K as a percentage of the ceiling. Index bytes grow as "
            "passages^b with b = " + ", ".join(f"{r} {b:.2f}" for r, b in exps.items()) + " (least squares on "
            "log-log). Search latency against size: latency.md and plots/scaling_latency.png (machine-dependent).\n")


def _save(fig: plt.Figure, path: Any) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})
    plt.close(fig)


def scaling_plot(params: dict[str, Any], frame: pd.DataFrame) -> None:
    """PR-Success@5 and @20 against corpus size (log x) per run, with the random level and the ceiling."""
    fig, axes = plt.subplots(1, len(KS), figsize=(11, 4), sharey=True)
    first = frame[frame["run"] == frame["run"].iloc[0]]
    for ax, k in zip(np.atleast_1d(axes), KS):
        for run, g in frame.groupby("run", sort=False):
            ax.plot(g["passages"], g[f"PR-Success@{k}"], marker="o", label=run)
            ax.fill_between(g["passages"], g[f"@{k} lo"], g[f"@{k} hi"], alpha=0.15)
        ax.plot(first["passages"], first[f"random@{k}"], "k:", label="random ranking")
        ax.plot(first["passages"], first["ceiling"], "k--", label="ceiling (answer in corpus)")
        ax.set_xscale("log")
        ax.set_xlabel("passages in the corpus (log)")
        ax.set_ylabel(f"PR-Success@{k} (%)")
        ax.set_ylim(0, 100)
        ax.set_title(f"PR-Success@{k} against corpus size, {params['profile']}", fontsize=9)
    np.atleast_1d(axes)[-1].legend(fontsize=7)
    fig.tight_layout()
    _save(fig, paths.plots_dir(params) / "scaling.png")


def _growth_plot(frame: pd.DataFrame, value: str, ylabel: str, title: str, path: Any) -> None:
    """`value` against corpus size (log-log), a line per run labelled with its fitted growth exponent."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for run, g in frame.sort_values("passages").groupby("run", sort=False):
        b = growth_exponent(g["passages"].to_numpy(float), g[value].to_numpy(float))
        ax.plot(g["passages"], g[value], marker="o", label=f"{run} (b = {b:.2f})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("passages in the corpus (log)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)


def cost_plot(params: dict[str, Any], frame: pd.DataFrame) -> None:
    """Index bytes against corpus size, with each run's fitted growth exponent."""
    _growth_plot(frame, "index bytes", "index bytes on disk (log)",
                 f"Index size against corpus size, {params['profile']}",
                 paths.plots_dir(params) / "scaling_index_bytes.png")


def latency_plot(params: dict[str, Any], lat: pd.DataFrame) -> None:
    """Batch-1 search p50 against corpus size with fitted exponents: machine-dependent, so written beside
    latency.md (not a pipeline output). Corpus sizes come from the pipeline's long table."""
    long_csv = paths.results_dir(params) / "long.csv"
    if not long_csv.is_file():
        return
    long = pd.read_csv(long_csv)
    long = long[long["task"].isin(scaling_tasks(params))]
    size = long.drop_duplicates("task").set_index("task")["corpus_size"].astype(float)
    p50 = lat[(lat["measure"] == "search p50 ms") & lat["task"].isin(size.index)].assign(
        passages=lambda d: d["task"].map(size))
    if p50.empty:
        return
    _growth_plot(p50, "value", "search p50 ms, batch 1 (log)",
                 f"Search latency against corpus size, {params['profile']} ({p50['device'].iloc[0]})",
                 paths.plots_dir(params) / "scaling_latency.png")


def write_scaling(params: dict[str, Any], long: pd.DataFrame) -> None:
    frame = scaling_frame(long)
    out = paths.tables_dir(params)
    write_text(out / "scaling.csv", frame.to_csv(index=False, float_format="%.4f"))
    write_text(out / "scaling.md", scaling_markdown(frame))
    scaling_plot(params, frame)
    cost_plot(params, frame)
