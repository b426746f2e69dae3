"""The seed table of a pipeline whose runs repeat with several training seeds (`train_seeds`; each copy is marked
`replicate_of`): per run and metric, the mean over seeds, their sample standard deviation and each seed's value
with its interval over queries. Model variance (seeds) and query sampling (intervals) are reported apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from harness import paths  # noqa: E402
from harness.atomic import atomic_path, write_text  # noqa: E402
from harness.tasks import main_task  # noqa: E402

METRICS = ("PR-Success@5", "PR-Success@10", "PR-Success@20", "PR-Success@50", "VQA")


def replicate_groups(params: dict[str, Any]) -> dict[str, list[str]]:
    """Each base run with the runs that repeat it over training seeds (a run without `replicate_of` is its own)."""
    groups: dict[str, list[str]] = {}
    for run_id, run in params["runs"].items():
        groups.setdefault(run.get("replicate_of", run_id), []).append(run_id)
    return groups


def seeds_frame(params: dict[str, Any], long: pd.DataFrame) -> pd.DataFrame:
    """A row per (run, metric): seeds, mean, sd, min, max and each seed's `value [lo, hi]`."""
    task = main_task(params).name
    groups = replicate_groups(params)
    rows = []
    for base, members in groups.items():
        for metric in METRICS:
            sel = long[(long["task"] == task) & long["run"].isin(members) & (long["metric"] == metric)]
            if sel.empty:
                continue
            values = sel["value"].astype(float)
            per_seed = "; ".join(f"{int(r['seed'])}: {r['value']:.1f}" + ("" if pd.isna(r["lo"]) else
                                 f" [{r['lo']:.1f}, {r['hi']:.1f}]") for _, r in sel.sort_values("seed").iterrows())
            rows.append({"run": base, "metric": metric, "seeds": len(sel), "mean": values.mean(),
                         "sd": values.std(ddof=1) if len(sel) > 1 else float("nan"), "min": values.min(),
                         "max": values.max(), "per seed (value [95% interval over queries])": per_seed})
    return pd.DataFrame(rows)


def summary_markdown(frame: pd.DataFrame) -> str:
    """A row per run, a column per metric: `mean ± sd (n)` over seeds (the short form for a README)."""
    def cell(r: pd.Series) -> str:
        return f"{r['mean']:.1f}" + ("" if pd.isna(r["sd"]) else f" ± {r['sd']:.1f}") + f" ({int(r['seeds'])})"
    wide = (frame.assign(cell=frame.apply(cell, axis=1))
            .pivot(index="run", columns="metric", values="cell")
            .reindex(index=list(dict.fromkeys(frame["run"])), columns=[m for m in METRICS if m in set(frame["metric"])]))
    return (wide.reset_index().to_markdown(index=False) + "\n\nmean ± sd over training seeds (the number of seeds in "
            "brackets); each seed's value with its interval over queries: seeds.md.\n")


def seeds_plot(params: dict[str, Any], long: pd.DataFrame, metric: str = "PR-Success@5") -> None:
    """Each seed's value with its 95% interval over queries, side by side per run, and the mean over seeds as a
    bar: the spread between seeds and the spread over queries in one picture."""
    task = main_task(params).name
    groups = replicate_groups(params)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * len(groups) + 2), 4))
    for x, (base, members) in enumerate(groups.items()):
        sel = long[(long["task"] == task) & long["run"].isin(members) & (long["metric"] == metric)].sort_values("seed")
        if sel.empty:
            continue
        values = sel["value"].astype(float).to_numpy()
        offsets = [x + 0.5 * (i / max(1, len(sel) - 1) - 0.5) for i in range(len(sel))] if len(sel) > 1 else [x]
        ax.bar(x, values.mean(), width=0.7, color="0.88", zorder=1)
        err = [values - sel["lo"].astype(float).to_numpy(), sel["hi"].astype(float).to_numpy() - values]
        ax.errorbar(offsets, values, yerr=err, fmt="o", ms=3, lw=0.8, capsize=2, color="C0", zorder=2)
    ax.set_xticks(range(len(groups)), list(groups), rotation=45, ha="right", fontsize=8)
    ax.set_ylabel(f"{metric} (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"{params['profile']}: {metric} per training seed (95% interval over queries);\n"
                 "bar: the mean over seeds", fontsize=9)
    fig.tight_layout()
    with atomic_path(paths.seeds_plot_file(params)) as tmp:
        fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})
    plt.close(fig)


def write_seeds(params: dict[str, Any], long: pd.DataFrame) -> pd.DataFrame:
    frame = seeds_frame(params, long)
    out = Path(paths.tables_dir(params))
    write_text(out / "seeds.csv", frame.to_csv(index=False, float_format="%.4f"))
    note = ("\n\nPercent on the main task. mean and sd (sample standard deviation) over the training seeds: the "
            "spread from model initialisation and batch order, with the data (world, splits) fixed by data_seed; "
            "each seed's interval is a 95% bootstrap over queries.\n")
    write_text(out / "seeds.md", frame.to_markdown(index=False, floatfmt=".1f") + note)
    write_text(out / "seeds_summary.md", summary_markdown(frame))
    seeds_plot(params, long)
    return frame
