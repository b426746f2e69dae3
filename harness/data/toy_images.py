"""Draw toy-world objects: a shape filled with a colour and a texture, on a plain noisy background."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "diamond", "star", "hexagon", "cross", "pentagon")
COLOURS = {
    "red": (220, 30, 30), "green": (30, 170, 50), "blue": (40, 70, 220), "yellow": (240, 220, 30),
    "purple": (140, 40, 170), "orange": (250, 140, 20), "white": (250, 250, 250), "black": (15, 15, 15),
}
TEXTURES = ("plain", "striped", "dotted", "checkered")


def _polygon(shape: str, box: tuple[int, int, int, int]) -> list[tuple[float, float]] | None:
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2

    def regular(n: int, phase: float, radii: tuple[float, ...] = (1.0,)) -> list[tuple[float, float]]:
        pts = []
        for i in range(n * len(radii)):
            a = phase + 2 * math.pi * i / (n * len(radii))
            rr = r * radii[i % len(radii)]
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
        return pts

    if shape == "circle":
        return None
    if shape == "square":
        return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    if shape == "triangle":
        return [(cx, y0), (x1, y1), (x0, y1)]
    if shape == "diamond":
        return [(cx, y0), (x1, cy), (cx, y1), (x0, cy)]
    if shape == "star":
        return regular(5, -math.pi / 2, (1.0, 0.45))
    if shape == "hexagon":
        return regular(6, 0.0)
    if shape == "pentagon":
        return regular(5, -math.pi / 2)
    if shape == "cross":
        t = r / 3
        return [(cx - t, y0), (cx + t, y0), (cx + t, cy - t), (x1, cy - t), (x1, cy + t), (cx + t, cy + t),
                (cx + t, y1), (cx - t, y1), (cx - t, cy + t), (x0, cy + t), (x0, cy - t), (cx - t, cy - t)]
    raise ValueError(f"unknown shape {shape!r}")


def _texture_layer(size: int, colour: tuple[int, int, int], texture: str) -> Image.Image:
    layer = Image.new("RGB", (size, size), colour)
    if texture == "plain":
        return layer
    lum = 0.3 * colour[0] + 0.6 * colour[1] + 0.1 * colour[2]
    ink = (20, 20, 20) if lum > 110 else (235, 235, 235)
    d = ImageDraw.Draw(layer)
    step = max(4, size // 6)
    if texture == "striped":
        for x in range(-size, size, step):
            d.line([(x, 0), (x + size, size)], fill=ink, width=max(1, step // 3))
    elif texture == "dotted":
        rad = max(1, step // 4)
        for y in range(step // 2, size, step):
            for x in range(step // 2, size, step):
                d.ellipse([x - rad, y - rad, x + rad, y + rad], fill=ink)
    elif texture == "checkered":
        for y in range(0, size, step):
            for x in range(0, size, step):
                if (x // step + y // step) % 2:
                    d.rectangle([x, y, x + step - 1, y + step - 1], fill=ink)
    else:
        raise ValueError(f"unknown texture {texture!r}")
    return layer


def draw_object(img: Image.Image, shape: str, colour: str, texture: str, box: tuple[int, int, int, int]) -> None:
    """Paint one object into `img` inside the square `box`."""
    x0, y0, x1, y1 = box
    size = x1 - x0
    mask = Image.new("L", (size, size), 0)
    md = ImageDraw.Draw(mask)
    local = (0, 0, size - 1, size - 1)
    poly = _polygon(shape, local)
    if poly is None:
        md.ellipse(local, fill=255)
    else:
        md.polygon(poly, fill=255)
    img.paste(_texture_layer(size, COLOURS[colour], texture), (x0, y0), mask)


def blank_canvas(size: int, rng: np.random.Generator) -> Image.Image:
    """A mid-grey background with a little noise, so images are not trivially flat."""
    base = rng.integers(110, 150)
    noise = rng.integers(-12, 13, size=(size, size, 1))
    arr = np.clip(base + noise, 0, 255).astype(np.uint8).repeat(3, axis=2)
    return Image.fromarray(arr, "RGB")
