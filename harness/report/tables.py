"""The main table: one row per run (plus the random-ranking level), metrics with 95% paired-bootstrap intervals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from harness import paths
from harness.atomic import write_text
from harness.metrics.bootstrap import confidence_interval, paired_difference
from harness.record import read_record

CI_METRICS = ("PR-Success@5", "PR-Success@10", "PR-Success@20", "PR-Success@50", "R@5", "MRR@10", "VQA")


def collect(params: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, dict[str, float]]]]:
    """Records and per-query values of the runs params names, in params order."""
    out = []
    for run_id in params["runs"]:
        folder = paths.run_dir(params, run_id)
        record = read_record(folder / "run.json")
        per_query = json.loads((folder / "per_query.json").read_text(encoding="utf-8"))
        out.append((record, per_query))
    return out


def main_table(params: dict[str, Any]) -> pd.DataFrame:
    resamples = int(params["eval"].get("bootstrap", 1000))
    seed = int(params["seed"])
    rows = []
    for record, per_query in collect(params):
        row: dict[str, Any] = {"run": record["run_id"], "method": record["method"], "queries": record["counts"]["queries"],
                               "passages": record["counts"]["passages"]}
        for m in CI_METRICS:
            if m in record["metrics"]:
                lo, hi = confidence_interval(per_query[m], resamples, seed)
                row[m], row[f"{m} lo"], row[f"{m} hi"] = record["metrics"][m], lo, hi
        vqa_file = paths.run_dir(params, record["run_id"]) / "vqa.json"
        vqa = json.loads(vqa_file.read_text(encoding="utf-8")) if vqa_file.is_file() else {"skipped": "not run"}
        if "skipped" not in vqa:
            per_q = json.loads((vqa_file.parent / "vqa_per_query.json").read_text(encoding="utf-8"))
            lo, hi = confidence_interval(per_q["VQA"], resamples, seed)
            row["VQA"], row["VQA lo"], row["VQA hi"], row["EM"] = vqa["metrics"]["VQA"], lo, hi, vqa["metrics"]["EM"]
        row["index bytes"] = record["index"]["bytes_on_disk"]
        lat = record["latency"]
        row["search ms/q"], row["search p95 ms"] = lat["search_batch1"]["p50_ms"], lat["search_batch1"]["p95_ms"]
        row["encode ms/q"], row["encode p95 ms"] = lat["encode_batch1"]["p50_ms"], lat["encode_batch1"]["p95_ms"]
        row["batched q/s"] = 1000.0 / max(1e-9, lat["encode_batched_ms_per_query"] + lat["search_batched_ms_per_query"])
        row["device"] = record["provenance"]["device"].get("gpu", record["provenance"]["device"]["device"])
        rows.append(row)
    for bound, label in (("none", "no retrieval"), ("oracle", "oracle passage")):
        f = Path("results") / params["profile"] / "vqa_bounds" / bound / "vqa.json"
        vqa = json.loads(f.read_text(encoding="utf-8")) if f.is_file() else {"skipped": "not run"}
        if rows and "skipped" not in vqa:
            per_q = json.loads((f.parent / "vqa_per_query.json").read_text(encoding="utf-8"))
            lo, hi = confidence_interval(per_q["VQA"], resamples, seed)
            rows.append({"run": label, "method": "(reader bound)", "queries": vqa["counts"]["queries"],
                         "VQA": vqa["metrics"]["VQA"], "VQA lo": lo, "VQA hi": hi, "EM": vqa["metrics"]["EM"]})
    if rows:
        record = collect(params)[0][0]
        rows.append({"run": "random ranking", "method": "(expected)", "queries": rows[0]["queries"],
                     "passages": rows[0]["passages"],
                     **{m: v for m, v in record.get("random_baseline", {}).items() if m in CI_METRICS}})
    return pd.DataFrame(rows)


def to_markdown(df: pd.DataFrame) -> str:
    shown = pd.DataFrame({"run": df["run"], "method": df["method"]})
    for m in CI_METRICS:
        if m not in df:
            continue
        def cell(r: pd.Series, m: str = m) -> str:
            if pd.isna(r[m]):
                return "-"
            if f"{m} lo" in r and not pd.isna(r[f"{m} lo"]):
                return f"{r[m]:.1f} [{r[f'{m} lo']:.1f}, {r[f'{m} hi']:.1f}]"
            return f"{r[m]:.1f}"
        shown[m] = df.apply(cell, axis=1)
    if "EM" in df:
        shown["EM"] = df["EM"].map(lambda v: "-" if pd.isna(v) else f"{v:.1f}")
    for col in ("queries", "passages"):
        if col in df:
            shown[col] = df[col].map(lambda v: "-" if pd.isna(v) else f"{int(v):,}")
    shown["index bytes"] = df["index bytes"].map(lambda v: "-" if pd.isna(v) else f"{int(v):,}")
    def pair(a: float, b: float) -> str:
        return "-" if pd.isna(a) else f"{a:.2f} / {b:.2f}"

    shown["encode ms/q p50 / p95"] = [pair(a, b) for a, b in zip(df["encode ms/q"], df["encode p95 ms"])]
    shown["search ms/q p50 / p95"] = [pair(a, b) for a, b in zip(df["search ms/q"], df["search p95 ms"])]
    shown["batched q/s"] = df["batched q/s"].map(lambda v: "-" if pd.isna(v) else f"{v:,.0f}")
    shown["device"] = df["device"].fillna("-")
    note = ("Metrics in percent with 95% paired-bootstrap intervals over queries. PR-Success@K: a query counts if "
            "any top-K passage contains an answer (the FLMR paper's PRRecall@K). encode / search ms/q: one query at a "
            "time after warm-up (p50 / p95); batched q/s: the whole split encoded and searched in batches. "
            "VQA/EM: the profile's reader on each run's top-K passages; the reader-bound rows read no passage, or "
            "one passage that holds an answer.\n")
    return shown.to_markdown(index=False) + "\n\n" + note


def paired_table(params: dict[str, Any], metric: str = "PR-Success@5") -> pd.DataFrame:
    """Every run against the reference run (`eval.reference_run`, default the first): mean difference in
    points, its 95% paired-bootstrap interval and a two-sided p-value."""
    records = collect(params)
    ids = [rec["run_id"] for rec, _ in records]
    ref_id = params["eval"].get("reference_run")
    ref_id = ref_id if ref_id in ids else ids[0]  # a profile without that run compares with its first row
    ref = next(pq for rec, pq in records if rec["run_id"] == ref_id)
    rows = []
    for rec, pq in records:
        if rec["run_id"] == ref_id or metric not in pq:
            continue
        d = paired_difference(pq[metric], ref[metric], int(params["eval"].get("bootstrap", 1000)), int(params["seed"]))
        rows.append({"run": rec["run_id"], "reference": ref_id, "metric": metric, "difference": d["diff"],
                     "lo": d["lo"], "hi": d["hi"], "p": d["p"], "queries": d["n"]})
    return pd.DataFrame(rows)


def write_tables(params: dict[str, Any]) -> pd.DataFrame:
    df = main_table(params)
    out = paths.tables_dir(params)
    write_text(Path(out) / "main.csv", df.to_csv(index=False, float_format="%.4f"))
    write_text(Path(out) / "main.md", to_markdown(df))
    paired = paired_table(params)
    write_text(Path(out) / "paired.csv", paired.to_csv(index=False, float_format="%.4f"))
    write_text(Path(out) / "paired.md", paired.to_markdown(index=False, floatfmt=".2f") +
               "\n\nDifference in percentage points against the reference run, 95% paired-bootstrap interval.\n")
    return df
