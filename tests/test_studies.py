"""The generalization study table: a row per okvqa_mini run, a column per other dataset x corpus, read from each
pipeline's long table; a pipeline not yet run says so."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.report.long import RANDOM_RUN
from harness.report.studies import (GENERALIZATION, NOT_RUN, generalization_frame, generalization_points,
                                    write_generalization)


def _long(folder: Path, rows: list[tuple[str, str, float, float | None]]) -> None:
    folder.mkdir(parents=True)
    pd.DataFrame([{"task": "main", "run": run, "metric": m, "value": v, "lo": None if lo is None else v - lo,
                   "hi": None if lo is None else v + lo} for run, m, v, lo in rows]).to_csv(folder / "long.csv")


def test_columns_fill_from_each_pipeline_and_missing_ones_say_not_run(tmp_path: Path):
    _long(tmp_path / "okvqa_mini", [("bm25", "PR-Success@5", 38.7, 1.0), ("dpr", "PR-Success@5", 53.7, 1.5),
                                    (RANDOM_RUN, "PR-Success@5", 9.3, None)])
    _long(tmp_path / "fvqa_facts", [("dpr", "PR-Success@5", 20.0, 2.0), ("dpr", "Success@5", 12.5, 1.0)])
    frame = generalization_frame(tmp_path).set_index("run")
    assert list(frame.index) == ["bm25", "dpr", RANDOM_RUN]
    cols = {c[3]: c for c in GENERALIZATION}
    assert frame.loc["dpr", "OK-VQA x wiki_vital (in-domain)"] == "53.7 [52.2, 55.2]"
    assert frame.loc["dpr", "FVQA x facts: gold Success@5"] == "12.5 [11.5, 13.5]"
    assert frame.loc["bm25", "FVQA x facts: gold Success@5"] == "-"  # run there, no such row
    assert frame.loc["dpr", "OK-VQA x Google snippets"] == NOT_RUN and "FVQA x wiki_vital" in cols
    out = write_generalization(tmp_path)
    assert out.is_file() and "not run" in out.read_text() and out.with_suffix(".csv").is_file()
    png = out.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    points = generalization_points(tmp_path)  # the plotted bars: runs only, no reference rows
    assert set(points["run"]) == {"bm25", "dpr"} and len(points) == 4


def test_toy_detector_table_sets_perfect_and_noisy_side_by_side(tmp_path: Path):
    from harness.report.studies import toy_detector_frame

    _long(tmp_path / "toy", [("flmr_roi", "PR-Success@5", 67.5, 3.0), ("flmr", "PR-Success@5", 56.2, 3.0)])
    frame = toy_detector_frame(tmp_path).set_index("row")
    perfect = [r for r in frame.index if "perfect" in r][0]
    noisy = [r for r in frame.index if "noisy" in r][0]
    assert frame.loc[perfect, "PR-Success@5"] == "67.5 [64.5, 70.5]" and frame.loc[noisy, "PR-Success@5"] == NOT_RUN
    _long(tmp_path / "toy_noisy_detector", [("flmr_roi", "PR-Success@5", 50.0, 3.0)])
    assert toy_detector_frame(tmp_path).set_index("row").loc[noisy, "PR-Success@5"] == "50.0 [47.0, 53.0]"


def test_toy_distractors_table_gives_each_level_and_the_paired_lead(tmp_path: Path):
    import json

    from harness.report.studies import toy_distractors_frame

    _long(tmp_path / "toy", [("dpr", "PR-Success@5", 40.0, 3.0), ("flmr", "PR-Success@5", 55.0, 3.0)])
    _long(tmp_path / "toy_distractors_80", [("dpr", "PR-Success@5", 20.0, 3.0)])
    for run, hits in (("flmr", [1, 1, 1, 0]), ("dpr", [1, 0, 0, 0])):  # per-query hits of four toy questions
        folder = tmp_path / "toy" / "runs" / "main" / run
        folder.mkdir(parents=True)
        (folder / "per_query.json").write_text(json.dumps({"PR-Success@5": {f"q{i}": h for i, h in enumerate(hits)}}))
    frame = toy_distractors_frame(tmp_path).set_index("run")
    assert frame.loc["flmr", "5 per kind"] == "55.0 [52.0, 58.0]" and frame.loc["dpr", "80 per kind"] == "20.0 [17.0, 23.0]"
    assert frame.loc["flmr", "20 per kind"] == NOT_RUN and frame.loc["flmr", "80 per kind"] == "-"
    lead = frame.loc["flmr - dpr (paired)"]
    assert lead["5 per kind"].startswith("+50.0 [") and lead["80 per kind"] == "-"  # no per-query files there


def test_vqa_table_lists_the_runs_then_the_reader_bounds(tmp_path: Path):
    from harness.report.studies import GENERALIZATION_VQA

    _long(tmp_path / "okvqa_mini", [("bm25", "VQA", 4.4, 1.0), ("dpr", "VQA", 5.9, 1.4),
                                    ("oracle passage", "VQA", 18.8, 2.2), ("no retrieval", "VQA", 4.6, 1.1),
                                    ("bm25", "PR-Success@5", 38.6, 1.0), (RANDOM_RUN, "PR-Success@5", 9.3, None)])
    _long(tmp_path / "fvqa_wiki", [("dpr", "VQA", 3.0, 1.0)])
    frame = generalization_frame(tmp_path, GENERALIZATION_VQA).set_index("run")
    assert list(frame.index) == ["bm25", "dpr", "no retrieval", "oracle passage"]
    assert frame.loc["dpr", "FVQA x wiki_vital"] == "3.0 [2.0, 4.0]"
    assert frame.loc["oracle passage", "FVQA x wiki_vital"] == "-"  # no bound rows in that pipeline
    assert frame.loc["dpr", "OK-VQA x Google snippets"] == NOT_RUN
    write_generalization(tmp_path)
    assert "oracle passage" in (tmp_path / "studies" / "generalization_vqa.md").read_text()
