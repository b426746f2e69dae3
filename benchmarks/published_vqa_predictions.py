"""Score published OK-VQA predictions with the harness scorer and compare with the accuracies their authors
reported (in the file names). Needs the real data folder; exits 0 with a note where it is absent.

    python benchmarks/published_vqa_predictions.py --data ../shared/data --out results/bench/published_vqa.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.atomic import write_json  # noqa: E402
from harness.data.answers import read_predictions  # noqa: E402
from harness.metrics.vqa import answers_from_scores, score_predictions  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("FLMR_BENCH_SHARED_DATA", "../shared/data"))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    data = Path(args.data)
    labels_file = data / "okvqa" / "lxmert_okvqa_val2014_testdev.json"
    if not labels_file.is_file():
        print(f"skipped: {labels_file} not found (set --data or FLMR_BENCH_SHARED_DATA)")
        return 0
    labels = json.loads(labels_file.read_text(encoding="utf-8"))
    answers = {str(r["question_id"]): answers_from_scores(r["label"]) for r in labels}
    rows = []
    for f in sorted((data / "okvqa_baseline_predictions").glob("*.json")):
        published = float(re.search(r"_(\d+\.\d+)_", f.name).group(1))
        metrics, _ = score_predictions(read_predictions(f), answers)
        rows.append({"file": f.name, "published": published, "ours": round(metrics["VQA"], 2),
                     "gap": round(metrics["VQA"] - published, 2), "EM": round(metrics["EM"], 2), "n": len(answers)})
    print(tabulate(rows, headers="keys"))
    print("Gap: the local labels keep raw answers with vote fractions, not the official ten stemmed answers, so a "
          "prediction equal to an official stemmed answer can miss, and answers with 4+ votes count as 4.")
    if args.out:
        write_json(args.out, {"labels": str(labels_file.name), "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
