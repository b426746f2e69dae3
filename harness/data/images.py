"""Open images with one clear error for a missing or corrupt file."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from harness.api import Query
from harness.errors import InputError


def load_image(path: Path, source: str | Path = "queries.jsonl", qid: str | None = None) -> Image.Image:
    field = f"image (qid {qid})" if qid else "image"
    try:
        with Image.open(path) as im:
            im.load()
            return im.convert("RGB")
    except FileNotFoundError:
        raise InputError(source, field, f"file not found: {path}") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InputError(source, field, f"corrupt or unreadable image {path} ({exc})") from None


def check_images(queries: list[Query], source: str | Path) -> None:
    for q in queries:
        if q.image is not None:
            load_image(q.image, source, q.qid)
