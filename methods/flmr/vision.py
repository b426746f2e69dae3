"""CLIP image preprocessing in PIL (no torchvision): shorter side to the model size (bicubic), centre crop,
CLIP mean/std; region crops go through the same path."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from harness.api import Box

CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def preprocess(img: Image.Image, size: int) -> torch.Tensor:
    w, h = img.size
    scale = size / min(w, h)
    img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.Resampling.BICUBIC)
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    img = img.crop((left, top, left + size, top + size))
    arr = (np.asarray(img, dtype=np.float32) / 255.0 - CLIP_MEAN) / CLIP_STD
    return torch.from_numpy(arr.transpose(2, 0, 1).copy())


def crop(img: Image.Image, box: Box) -> Image.Image:
    w, h = img.size
    x0, y0 = max(0, int(box.x0)), max(0, int(box.y0))
    x1, y1 = min(w, max(x0 + 1, int(round(box.x1)))), min(h, max(y0 + 1, int(round(box.y1))))
    return img.crop((x0, y0, x1, y1))
