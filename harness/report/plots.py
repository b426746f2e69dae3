"""PR-Success@K against K for every run, one seaborn line plot."""

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


def success_plot(params: dict[str, Any]) -> None:
    rows = []
    for run_id in params["runs"]:
        curve = json.loads((paths.run_dir(params, run_id) / "curve.json").read_text(encoding="utf-8"))
        rows += [{"run": run_id, "K": k, "PR-Success@K (%)": v} for k, v in zip(curve["k"], curve["value"])]
    df = pd.DataFrame(rows)
    fig, ax = plt.subplots(figsize=(6, 4))
    sns.lineplot(data=df, x="K", y="PR-Success@K (%)", hue="run", ax=ax)
    ax.set_xscale("log")
    ax.set_title(f"PR-Success@K, {params['dataset']['name']} ({params['eval']['split']})")
    ax.set_ylim(0, 100)
    fig.tight_layout()
    with atomic_path(paths.plots_dir(params) / "success_at_k.png") as tmp:
        fig.savefig(tmp, format="png", dpi=120, metadata={"Software": None})
    plt.close(fig)
