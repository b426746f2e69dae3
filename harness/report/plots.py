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
from harness.tasks import tasks  # noqa: E402


def plot_name(task: str, first: bool) -> str:
    return "success_at_k.png" if first else f"success_at_k_{task}.png"


def success_plot(params: dict[str, Any]) -> None:
    for i, (name, task) in enumerate(tasks(params).items()):
        rows = []
        for run_id in params["runs"]:
            curve = json.loads((paths.run_dir(params, run_id, name) / "curve.json").read_text(encoding="utf-8"))
            rows += [{"run": run_id, "K": r["K"], "PR-Success@K (%)": r["PR-Success"]} for r in curve]
        fig, ax = plt.subplots(figsize=(6, 4))
        sns.lineplot(data=pd.DataFrame(rows), x="K", y="PR-Success@K (%)", hue="run", ax=ax)
        ax.set_xscale("log")
        ax.set_title(f"PR-Success@K, {params['profile']}: {name} ({task.corpus_label}, {task.split})", fontsize=9)
        ax.set_ylim(0, 100)
        fig.tight_layout()
        with atomic_path(paths.plots_dir(params) / plot_name(name, i == 0)) as tmp:
            fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})
        plt.close(fig)
