"""Region crops for the vision encoder (each family's image processor then resizes and normalises them)."""

from __future__ import annotations

from PIL import Image

from harness.api import Box


def crop(img: Image.Image, box: Box) -> Image.Image:
    w, h = img.size
    x0, y0 = max(0, int(box.x0)), max(0, int(box.y0))
    x1, y1 = min(w, max(x0 + 1, int(round(box.x1)))), min(h, max(y0 + 1, int(round(box.y1))))
    return img.crop((x0, y0, x1, y1))
