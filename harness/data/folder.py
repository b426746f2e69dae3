"""`dataset.source: folder`: a dataset already in the harness's on-disk format (queries.jsonl, corpus.jsonl,
qrels/<split>.tsv, images under the folder), checked against its card and copied into the pipeline's data folder.

The card, `datasets/<dataset.name>/card.yaml`, names the files' sha256 (`files:`) and the expected counts
(`expected_counts:` queries per split, and `passages`); each is checked here, so a changed or truncated copy stops
the prepare stage with one line naming the card and the field instead of giving other numbers."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from harness.atomic import atomic_dir, write_json
from harness.data.fetch import read_card
from harness.data.schema import SPLITS, Dataset, absolute
from harness.errors import InputError
from harness.params import params_file
from harness.provenance import sha256_file
from harness.tasks import corpus_name


def card_file(params: dict[str, Any]) -> Path:
    return Path("datasets") / params["dataset"]["name"] / "card.yaml"


def source_folder(params: dict[str, Any]) -> Path:
    folder = (params["dataset"].get("folder") or {}).get("path")
    if not folder:
        raise InputError(params_file(params), "dataset.folder.path", "missing: the folder holding queries.jsonl")
    return Path(folder)


def _check_files(card_path: Path, card: dict[str, Any], src: Path) -> dict[str, dict[str, str]]:
    inputs = {}
    for name, want in sorted((card.get("files") or {}).items()):
        f = src / name
        if not f.is_file():
            raise InputError(card_path, f"files.{name}", f"file not found: {f}")
        got = sha256_file(f)
        if got != want:
            raise InputError(card_path, f"files.{name}", f"sha256 {got} of {f}, the card says {want}")
        inputs[name] = {"path": str(f), "sha256": got}
    return inputs


def _check_counts(card_path: Path, card: dict[str, Any], data: Dataset) -> dict[str, int]:
    counts = {split: len(data.split(split)) for split in SPLITS}
    got = {**counts, "passages": len(data.corpus)}
    for key, want in (card.get("expected_counts") or {}).items():
        if key not in got:
            raise InputError(card_path, f"expected_counts.{key}", f"unknown count; counts are {sorted(got)}")
        if int(want) != got[key]:
            raise InputError(card_path, f"expected_counts.{key}", f"{got[key]} in the folder, the card says {want}")
    return counts


def build_folder(params: dict[str, Any], out: Path) -> dict[str, Any]:
    """Check the folder against its card, copy it (images included) and write the manifest."""
    src, card_path = source_folder(params), card_file(params)
    card = read_card(card_path)
    inputs = _check_files(card_path, card, src)
    data = Dataset(src)  # every row and image checked before anything is written
    outside = [q.qid for q in data.queries if q.image is not None and absolute(src) not in q.image.parents]
    if outside:
        raise InputError(src / "queries.jsonl", "image", f"{len(outside)} images outside the folder (first: {outside[0]})")
    counts = _check_counts(card_path, card, data)
    with atomic_dir(out) as tmp:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
        write_json(tmp / "manifest.json", {
            "dataset": params["dataset"]["name"], "source": "folder", "card": str(card_path),
            "inputs": inputs, "counts": counts, "corpus": {"name": corpus_name(params), "passages": len(data.corpus)},
            "skipped": {}})
    return {"queries": counts, "passages": len(data.corpus), "skipped": {}}
