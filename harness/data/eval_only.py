"""The dataset folder of a test-only source (FVQA, A-OKVQA): datasets that models trained elsewhere are evaluated
on zero-shot, so there is no train or validation split and nothing is selected on them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.api import Passage, Query
from harness.atomic import atomic_dir, write_json
from harness.data.okvqa.record import SkipLog
from harness.data.schema import absolute, write_corpus, write_qrels, write_queries
from harness.provenance import sha256_file


def data_root(settings: dict[str, Any], env: str) -> Path:
    """The folder a source's files are read from: the environment variable, else the settings' `root`."""
    return absolute(os.environ.get(env) or settings.get("root", "."))


def write_test_only(out: Path, *, dataset: str, source: str, root: Path, files: dict[str, Path],
                    queries: list[Query], corpus: list[Passage], corpus_info: dict[str, Any], own_corpus: bool,
                    skips: SkipLog, answers: str, qrels: dict[str, dict[str, int]] | None = None) -> dict[str, Any]:
    """Write queries (all in `test`), the corpus where it is the dataset's own (a named one is read from
    data/corpora/), gold qrels where the source has them and the manifest (inputs with their sha256, counts,
    counted skips, caption coverage); return the prepare stage's summary."""
    with atomic_dir(out) as tmp:
        write_queries(tmp / "queries.jsonl", queries)
        if own_corpus:
            write_corpus(tmp / "corpus.jsonl", corpus)
        if qrels:
            write_qrels(tmp / "qrels" / "test.tsv", qrels)
        manifest = {
            "dataset": dataset, "source": source,
            "inputs": {name: {"path": os.path.relpath(path, root), "sha256": sha256_file(path)}
                       for name, path in sorted(files.items())},
            "corpus": {**corpus_info, "passages": len(corpus)},
            "counts": {"train": 0, "val": 0, "test": len(queries)},
            "skipped": skips.as_dict(),
            "coverage": {"test": {"with_caption": sum(1 for q in queries if q.vision_text)}},
            "qrels": {"test": {"kind": "gold (each question's own fact)", "queries_with_positives": len(qrels),
                               "pairs": len(qrels)}} if qrels else {},
            "answers": answers,
        }
        write_json(tmp / "manifest.json", manifest)
    return {"queries": manifest["counts"], "passages": len(corpus),
            "skipped": {k: v["count"] for k, v in manifest["skipped"].items()}}
