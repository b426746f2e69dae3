"""Vision encoders by family: each builds from a tiny config, gives one feature per image that a mapping network
turns into visual tokens of the mapped shape, and loads from a local folder in the family's Hugging Face layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from harness.errors import InputError
from harness.vision_encoders import FAMILIES, TINY_CONFIGS, build_vision_encoder

N_TOKENS, DIM = 4, 16


def _images(n: int) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (40 + 8 * i, 48, 3), dtype=np.uint8)) for i in range(n)]


def _spec(family: str) -> dict:
    return {"family": family, "source": "tiny", "tiny": TINY_CONFIGS[family], "image_size": 32}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_gives_visual_tokens_of_the_mapped_shape(family: str):
    enc = build_vision_encoder(_spec(family), seed=0)
    pixels = enc.pixels(_images(3))
    assert pixels.shape == (3, 3, enc.image_size, enc.image_size)
    feats = enc(pixels)
    assert feats.shape == (3, enc.feature_size) and torch.isfinite(feats).all()
    mapping = torch.nn.Linear(enc.feature_size, N_TOKENS * DIM)
    assert mapping(feats).view(3, N_TOKENS, DIM).shape == (3, N_TOKENS, DIM)
    assert not torch.allclose(feats[0], feats[1])  # the feature depends on the image


def test_clip_feeds_the_first_token_before_the_post_layernorm():
    enc = build_vision_encoder(_spec("clip"))
    pixels = enc.pixels(_images(2))
    out = enc.model(pixel_values=pixels)
    assert torch.equal(enc(pixels), out.last_hidden_state[:, 0])
    assert not torch.allclose(enc(pixels), out.pooler_output)  # pooler_output is after post_layernorm


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_local_folder_in_the_hugging_face_layout_loads(tmp_path, family: str):
    enc = build_vision_encoder(_spec(family), seed=3)
    enc.model.save_pretrained(tmp_path / family)
    enc.processor.save_pretrained(tmp_path / family)
    again = build_vision_encoder({"family": family, "source": str(tmp_path / family)})
    images = _images(2)
    assert torch.equal(again.pixels(images), enc.pixels(images))
    assert torch.allclose(again(again.pixels(images)), enc(enc.pixels(images)), atol=1e-6)


def test_unknown_family_and_unpinned_hub_id_are_one_line():
    with pytest.raises(InputError, match="vision.family"):
        build_vision_encoder({"family": "alexnet"})
    with pytest.raises(InputError, match="revision"):
        build_vision_encoder({"family": "clip", "source": "openai/clip-vit-base-patch32"})
