"""fetch: download what a profile needs from the Hugging Face hub, at the card's pinned revision, into
downloads/<card name>/, then verify the files' sha256 (where the card lists them) and the row counts. Downloads
resume where a killed run stopped (huggingface_hub keeps partial files). A profile that needs nothing from the
hub (toy, okvqa_mini) writes only the record. Hub access happens here and nowhere else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.atomic import write_json
from harness.data.corpora import HUB_CORPORA
from harness.errors import InputError
from harness.hub import mirror_root, snapshot
from harness.provenance import sha256_file


def read_card(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(path, "-", "dataset card not found")
    card = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(card, dict):
        raise InputError(path, "-", "must be a mapping")
    return card


def needed(params: dict[str, Any]) -> list[tuple[Path, dict[str, Any]]]:
    """(card path, hub source) for every hub download this profile's dataset and corpus need."""
    ds = params["dataset"]
    out = []
    okvqa = ds.get("okvqa") or {}
    if ds.get("source") == "okvqa" and okvqa.get("source") == "hub":
        card = Path(okvqa.get("card", "datasets/okvqa/card.yaml"))
        out.append((card, {**read_card(card)["sources"]["hub"], **{k: okvqa[k] for k in ("revision", "local")
                                                                     if k in okvqa}}))
    corpus = ds.get("corpus") or {}
    if ds.get("source") == "okvqa" and corpus.get("name") in HUB_CORPORA:
        card = Path(f"datasets/{corpus['name']}/card.yaml")
        data = read_card(card)
        out.append((card, {**data["source"], "expected_counts": data.get("expected_counts", {}),
                           **{k: corpus[k] for k in ("revision", "local") if k in corpus}}))
    return out


def download(card: Path, src: dict[str, Any]) -> Path:
    """The card's repository at its pinned commit into its download folder (harness/hub.py: resumable)."""
    repo, revision = src["repo"], src.get("revision")
    folder = Path(src.get("local") or f"downloads/{card.parent.name}")
    try:
        snapshot(repo, revision, where=(card, "source.revision"), repo_type="dataset",
                 allow_patterns=src.get("allow_patterns"), local_dir=folder)
    except InputError as exc:
        if "pinned 40-hex" in exc.problem:
            raise
        raise InputError(card, "source.repo", f"{exc.problem}; or copy its parquet files into {folder}/ (or set "
                                              "`local` to a copy) and run again: files already there are verified, "
                                              "not fetched") from None
    return folder


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file under `folder`: what a download changed."""
    if not folder.is_dir():
        return {}
    return {str(f.relative_to(folder)): (f.stat().st_size, f.stat().st_mtime_ns) for f in folder.rglob("*")
            if f.is_file() and ".cache" not in f.parts}


def verify(card: Path, src: dict[str, Any], folder: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    files = {}
    for rel, expected in (src.get("sha256") or {}).items():
        f = folder / rel
        if not f.is_file():
            raise InputError(card, f"source.sha256.{rel}", f"file missing from {folder}")
        got = sha256_file(f)
        if got != expected:
            raise InputError(f, "sha256", f"is {got[:12]}..., the card pins {expected[:12]}... (damaged or other revision)")
        files[rel] = got
    counts = {}
    for split, expected in (src.get("expected_counts") or {}).items():
        from harness.data.sources import split_files

        found = split_files(folder, split)
        if not found:
            raise InputError(card, f"expected_counts.{split}", f"no parquet files for split {split!r} in {folder}")
        n = sum(pq.read_metadata(f).num_rows for f in found)
        if expected is not None and n != int(expected):
            raise InputError(card, f"expected_counts.{split}", f"found {n} rows in {folder}, the card expects {expected}")
        counts[split] = n
    return {"repo": src.get("repo"), "revision": src.get("revision"), "folder": str(folder), "sha256": files,
            "counts": counts}


COMPLETE = ".verified.json"  # written into a download folder once it passed verification


def fetch(params: dict[str, Any], out: Path) -> dict[str, Any]:
    """A folder that passed verification before is kept; otherwise download (resuming a killed download);
    where the hub cannot be reached but a copy is already in place, the copy is verified instead."""
    record: dict[str, Any] = {"dataset": params["dataset"]["name"], "downloads": []}
    for card, src in needed(params):
        folder = Path(src.get("local") or f"downloads/{card.parent.name}")
        how = "verified before"
        if not (folder / COMPLETE).is_file():
            before = _listing(folder)
            try:
                download(card, src)
                # a download that fetched nothing (the files were already there) is not a download
                fetched = "downloaded" if mirror_root() is None else f"copied from the hub mirror {mirror_root()}"
                how = fetched if _listing(folder) != before else "local copy (nothing fetched)"
            except InputError:
                if not (folder.is_dir() and any(folder.rglob("*.parquet"))):
                    raise
                how = "local copy (hub not reached)"
        checked = verify(card, src, folder)
        write_json(folder / COMPLETE, checked)
        record["downloads"].append({"card": str(card), "how": how, **checked})
    write_json(out, record)
    return record
