"""Read one split of a Hugging Face dataset from a local folder of its parquet files (what the fetch stage
downloads, or a copy made elsewhere). Hub access happens only in the fetch stage (harness/data/fetch.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.data.schema import absolute
from harness.errors import InputError


def split_files(folder: Path, split: str) -> list[Path]:
    """Parquet files of `split`, in the hub's layouts: <split>-*.parquet or <split>/*.parquet, at any depth."""
    found = sorted(set(folder.rglob(f"{split}-*.parquet")) | set(folder.rglob(f"{split}/*.parquet")))
    return [f for f in found if ".cache" not in f.parts]


def local_folder(s: dict[str, Any], root: Path, field: str) -> Path:
    local = s.get("local")
    if not local:
        raise InputError("params.yaml", f"{field}.local", "missing: run `python -m harness fetch` (downloads to "
                                                          "downloads/<card>) or point it at a copy of the parquet files")
    return absolute(root / local)


def load_hf_split(s: dict[str, Any], split: str, root: Path, field: str) -> tuple[list[dict[str, Any]], str]:
    """Rows of `split` as dicts, and the folder they came from."""
    import pyarrow.parquet as pq

    folder = local_folder(s, root, field)
    files = split_files(folder, split)
    if not files:
        raise InputError(folder, split, f"no parquet files for split {split!r} (expected {split}-*.parquet); "
                                        "run `python -m harness fetch` or point `local` at a downloaded copy")
    rows: list[dict[str, Any]] = []
    for f in files:
        try:
            rows += pq.read_table(f).to_pylist()
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise InputError(f, "-", f"not a readable parquet file ({str(exc).splitlines()[0]})") from None
    return rows, str(folder)
