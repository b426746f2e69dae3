"""PR-Success@K against K for every run of every task, one seaborn line plot per task (the same curves are
`dvc plots` through the plot definitions in the pipeline's dvc.yaml)."""

from __future__ import annotations

import json
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on CI machines
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from harness import paths  # noqa: E402
from harness.atomic import atomic_path  # noqa: E402
from harness.report.seeds import replicate_groups  # noqa: E402
from harness.tasks import tasks  # noqa: E402


def legend_outside(ax: plt.Axes, title: str | None = None) -> None:
    """The legend to the right of the axes, in columns of at most 18 entries, so it never covers a curve."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.legend(handles, labels, title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0,
              frameon=False, fontsize=7, title_fontsize=8, ncol=1 + (len(labels) - 1) // 18)


def success_plot(params: dict[str, Any]) -> None:
    # Seed replicates of one run are one line: their mean, with a band from the lowest to the highest seed.
    base_of = {run_id: base for base, members in replicate_groups(params).items() for run_id in members}
    label = "run (mean over seeds; band: min-max)" if len(set(base_of.values())) < len(base_of) else "run"
    for i, (name, task) in enumerate(tasks(params).items()):
        rows = []
        for run_id in params["runs"]:
            curve = json.loads((paths.run_dir(params, run_id, name) / "curve.json").read_text(encoding="utf-8"))
            rows += [{"run": base_of[run_id], "K": r["K"], "PR-Success@K (%)": r["PR-Success"]} for r in curve]
        lines = len(set(base_of.values()))
        fig, ax = plt.subplots(figsize=(6 + 1.6 * (1 + (lines - 1) // 18), 4))
        sns.lineplot(data=pd.DataFrame(rows), x="K", y="PR-Success@K (%)", hue="run", ax=ax,
                     errorbar=lambda v: (min(v), max(v)))
        ax.set_xscale("log")
        ax.set_title(f"PR-Success@K, {params['profile']}: {name} ({task.corpus_label}, {task.split})", fontsize=9)
        ax.set_ylim(0, 100)
        legend_outside(ax, label)
        fig.tight_layout()
        with atomic_path(paths.success_plot_file(params, name, i == 0)) as tmp:
            fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})
        plt.close(fig)
