"""Weights published on the hub load whole, by the code path a hub id takes: tiny models saved in the exact hub
layouts sit in a mirror (<repo id>/<commit>/, $FLMR_BENCH_HUB_MIRROR) and are named by hub id and commit, as the
paper pipeline names them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from harness import methods

from harness.errors import InputError
from hub_miniature import BLIP2, CLIP, COLBERT, fake_sha, write_blip2, write_clip, write_colbert

SHARED = Path(os.environ.get("FLMR_BENCH_SHARED_FIXTURES",
                             Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures"))


@pytest.fixture()
def mirror(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "mirror"
    monkeypatch.setenv("FLMR_BENCH_HUB_MIRROR", str(root))
    return root


def _flmr_params(backbone: dict, **extra) -> dict:
    params = methods.default_params(methods.get("flmr"))
    return {**params, "backbone": backbone, **extra}


def test_colbertv2_from_a_hub_id_brings_its_projection_and_bert_weights(mirror: Path):
    from methods.flmr.model import FLMRRetriever

    sha = fake_sha("colbert")
    state = write_colbert(mirror / COLBERT / sha)
    model = FLMRRetriever.create(_flmr_params({"source": COLBERT, "revision": sha}), seed=0)
    assert torch.equal(model.linear.weight, state["linear.weight"])  # not a random projection
    emb = "embeddings.word_embeddings.weight"
    assert torch.equal(model.text_encoder.state_dict()[emb], state[f"bert.{emb}"])


def test_a_colbert_checkpoint_without_its_projection_is_refused(mirror: Path):
    from safetensors.torch import load_file, save_file

    from methods.flmr.model import FLMRRetriever

    sha = fake_sha("colbert-broken")
    folder = mirror / COLBERT / sha
    write_colbert(folder)
    state = load_file(str(folder / "model.safetensors"))
    del state["linear.weight"]
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(InputError, match="without its projection"):
        FLMRRetriever.create(_flmr_params({"source": COLBERT, "revision": sha}), seed=0)


def test_an_unpinned_or_absent_hub_id_is_one_line(mirror: Path):
    from harness.backbones import build_text_encoder

    with pytest.raises(InputError, match="pinned 40-hex commit") as err:
        build_text_encoder({"source": COLBERT, "revision": None}, 30522, 0)
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="not in the mirror"):
        build_text_encoder({"source": COLBERT, "revision": "f" * 40}, 30522, 0)


def test_clip_vision_tower_loads_whole_from_a_full_clip_checkpoint(mirror: Path):
    from PIL import Image

    from harness.vision_encoders import build_vision_encoder

    sha = fake_sha("clip")
    state = write_clip(mirror / CLIP / sha)
    enc = build_vision_encoder({"family": "clip", "source": CLIP, "revision": sha})
    own = enc.model.state_dict()
    vision = {k: v for k, v in state.items() if k.startswith("vision_model.")}
    assert vision and len(own) == len(vision)
    for key, value in vision.items():  # the vision model's own keys may or may not keep the `vision_model.` level
        mine = own.get(key, own.get(key[len("vision_model."):]))
        assert mine is not None and torch.equal(mine, value), key
    pixels = enc.processor(images=[Image.new("RGB", (300, 200), (10, 200, 30))], return_tensors="pt")["pixel_values"]
    assert tuple(pixels.shape) == (1, 3, 224, 224)  # the published preprocessing: resize, centre-crop 224


def test_a_vision_checkpoint_of_another_family_is_refused(mirror: Path):
    from harness.vision_encoders import build_vision_encoder

    sha = fake_sha("clip-as-dinov2")
    write_clip(mirror / CLIP / sha)
    with pytest.raises(InputError):
        build_vision_encoder({"family": "dinov2", "source": CLIP, "revision": sha})


def test_blip2_saves_its_lora_adapters_alone_and_reloads_base_plus_adapters(mirror: Path, tmp_path: Path):
    pytest.importorskip("peft")
    from harness.api import Passage, Query
    from harness.reader.blip2 import Blip2Reader

    sha = fake_sha("blip2")
    write_blip2(mirror / BLIP2 / sha)
    params = {"backbone": {"kind": "blip2", "source": BLIP2, "revision": sha}, "top_k": 1, "mode": "per_passage",
              "max_input_length": 64, "max_answer_length": 4}
    reader = Blip2Reader.create(params, seed=0)
    with torch.no_grad():  # move the adapters off their zero start, as training would
        for name, p in reader.model.named_parameters():
            if "lora_B" in name:
                p.add_(0.05)
    reader.eval()
    queries = [Query(qid="q", text="what is it?", image=None, answers=("disc",))]
    passages = [Passage(pid="p", title="Frisbee", text="a frisbee is a disc")]
    with torch.no_grad():
        before = reader.model(**reader._inputs(queries, [passages]), labels=torch.tensor([[5, 6]])).logits
    out = tmp_path / "reader"
    reader.save(out)
    assert (out / "adapter" / "adapter_model.safetensors").is_file() and not (out / "model.safetensors").exists()
    adapter_bytes = (out / "adapter" / "adapter_model.safetensors").stat().st_size
    base_bytes = (mirror / BLIP2 / sha / "model.safetensors").stat().st_size
    assert adapter_bytes < base_bytes / 5  # the adapters, not the model
    again = Blip2Reader.load(out)
    with torch.no_grad():
        after = again.model(**again._inputs(queries, [passages]), labels=torch.tensor([[5, 6]])).logits
    assert torch.allclose(before, after, atol=1e-6)


def test_blip2_base_dtype_follows_the_device():
    from harness.reader.blip2 import base_dtype

    assert base_dtype({"dtype": "bfloat16"}) == torch.bfloat16
    expected = torch.float32 if not torch.cuda.is_available() else (
        torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)
    assert base_dtype({}) == expected


@pytest.mark.shared_data
def test_official_flmr_checkpoint_from_a_hub_id_loads_its_mapping_network(mirror: Path):
    """The official FLMR code's own saved folder (LinWeizheDragon/FLMR layout), served as a hub repository."""
    from safetensors.torch import load_file

    from methods.flmr.official import load_official

    fixture = SHARED / "flmr_official_tiny" / "model"
    if not fixture.is_dir():
        pytest.skip(f"{fixture} not here (the shared FLMR fixture)")
    sha = fake_sha("flmr")
    shutil.copytree(fixture, mirror / "LinWeizheDragon" / "FLMR" / sha)
    model = load_official("LinWeizheDragon/FLMR", revision=sha)
    files = sorted(fixture.glob("*.safetensors"))
    state = {k: v for f in files for k, v in load_file(str(f)).items()}
    mapping = {k[len("query_vision_projection.model."):]: v for k, v in state.items()
               if k.startswith("query_vision_projection.model.")}
    assert mapping, "the fixture has a mapping network"
    own = model.mapping.state_dict()
    assert all(torch.equal(own[k], v) for k, v in mapping.items())


def _hub_checkpoint(family: str, folder: Path) -> None:
    """A tiny model of the class the hub repository holds: whole CLIP and SigLIP models (both towers), DINOv2 and
    ViT backbones, a ConvNeXt image classifier."""
    import transformers as tf

    from harness.vision_encoders import TINY_CONFIGS

    torch.manual_seed(0)
    tiny = TINY_CONFIGS[family]
    text = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
            "vocab_size": 99}
    model = {
        "clip": lambda: tf.CLIPModel(tf.CLIPConfig(text_config=text, vision_config=tiny, projection_dim=16)),
        "siglip": lambda: tf.SiglipModel(tf.SiglipConfig(text_config=text, vision_config=tiny)),
        "dinov2": lambda: tf.Dinov2Model(tf.Dinov2Config(**tiny)),
        "vit": lambda: tf.ViTModel(tf.ViTConfig(**tiny)),
        "convnext": lambda: tf.ConvNextForImageClassification(tf.ConvNextConfig(**tiny, num_labels=3)),
    }[family]()
    model.save_pretrained(str(folder))


def _vision_backbones_hub_runs() -> list[tuple[str, dict]]:
    import yaml

    params = yaml.safe_load((Path(__file__).resolve().parent.parent /
                             "pipelines/vision_backbones_hub/params.yaml").read_text())
    return [(run_id, run["params"]["vision"]) for run_id, run in params["runs"].items()]


@pytest.mark.parametrize("run_id,vision", _vision_backbones_hub_runs(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_vision_encoder_of_the_hub_study_loads_whole_from_its_hub_layout(mirror: Path, run_id, vision):
    from harness.vision_encoders import build_vision_encoder

    sha = fake_sha(vision["source"])
    _hub_checkpoint(vision["family"], mirror / vision["source"] / sha)
    enc = build_vision_encoder({**vision, "revision": sha})  # a missing weight would be an error here
    assert enc.family == vision["family"]
    with pytest.raises(InputError, match="pinned"):
        build_vision_encoder({**vision, "revision": None})
