"""`python -m harness export-beir DATASET OUT`: a dataset folder as BEIR lays one out, for tools that read BEIR
(queries.jsonl with `_id` and `text`, corpus.jsonl as it is, qrels/<split>.tsv with `dev` for the validation
split). What BEIR has no field for (answers, split, image, text-based vision, regions) goes under `metadata`."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from harness.atomic import atomic_dir
from harness.data.schema import SPLIT_ALIASES, Dataset, absolute, corpus_file, write_qrels

BEIR_SPLIT = {canon: alias for alias, canon in SPLIT_ALIASES.items()}  # val -> dev


def export_beir(dataset: Path, out: Path) -> dict[str, int]:
    ds = Dataset(dataset, check_images=False)
    with atomic_dir(Path(out)) as tmp:
        rows = []
        for q in ds.queries:
            meta = {"answers": list(q.answers), "split": BEIR_SPLIT.get(q.split, q.split)}
            if q.image is not None:  # relative to the exported folder: the images stay where they are
                meta["image"] = os.path.relpath(q.image, absolute(out))
            if q.vision_text is not None:
                meta["vision_text"] = q.vision_text
            if q.rois:
                meta["rois"] = [[b.x0, b.y0, b.x1, b.y1, b.label] for b in q.rois]
            rows.append(json.dumps({"_id": q.qid, "text": q.text, "metadata": meta}, ensure_ascii=False) + "\n")
        (tmp / "queries.jsonl").write_text("".join(rows), encoding="utf-8")
        shutil.copyfile(corpus_file(dataset), tmp / "corpus.jsonl")  # its own or the named one it reads
        (tmp / "qrels").mkdir()
        for split, qrels in ds.qrels.items():
            write_qrels(tmp / "qrels" / f"{BEIR_SPLIT.get(split, split)}.tsv", qrels)
    return {"queries": len(ds.queries), "passages": len(ds.corpus), "qrels": len(ds.qrels)}
