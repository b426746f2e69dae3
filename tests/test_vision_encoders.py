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
ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


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


@pytest.mark.parametrize("family", ["siglip", "resnet"])
def test_flmr_takes_any_family_and_its_folder_round_trips(toy_dir, tmp_path, family: str):
    """flmr_roi with a non-CLIP encoder (the vision_backbones study's runs): image and region tokens, and a saved
    model folder (weights + image processor) that encodes the same."""
    import yaml

    from harness.data.schema import Dataset
    from harness.params import deep_merge
    from methods.flmr.model import FLMRRetriever

    defaults = yaml.safe_load((ROOT / "methods" / "flmr" / "params.yaml").read_text())
    cnn = {"tiny": {"embedding_size": 16, "hidden_sizes": [16, 32], "depths": [1, 1], "layer_type": "basic"}}
    params = deep_merge(defaults, {"use_image_features": True, "use_rois": True, "num_rois": 2, "visual_tokens": 2,
                                   "mapping_hidden": 32, "backbone": {"tiny": {"hidden_size": 32,
                                   "intermediate_size": 64, "num_attention_heads": 2}}, "dim": 16,
                                   "vision": {"family": family, **(cnn if family == "resnet" else {})}})
    model = FLMRRetriever.create(params, seed=0)
    assert model.vision.family == family
    queries = [q for q in Dataset(toy_dir).queries if q.rois][:2]
    emb = model.encode_queries(queries)
    model.save(tmp_path / "m")
    again = FLMRRetriever.load(tmp_path / "m")
    assert again.vision.family == family
    assert np.allclose(again.encode_queries(queries).tokens, emb.tokens, atol=1e-5)


def test_the_paper_scale_study_names_each_family_and_refuses_unpinned_hub_ids():
    from harness import dvcfile

    params = dvcfile.merged_params(dvcfile.get("vision_backbones_hub"))
    assert params["requires"] == ["hub", "gpu"]
    specs = [run["params"]["vision"] for run in params["runs"].values()]
    assert {s["family"] for s in specs} == {"clip", "siglip", "dinov2", "vit", "convnext"}
    for spec in specs:
        with pytest.raises(InputError, match="revision"):
            build_vision_encoder(spec)
