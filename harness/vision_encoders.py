"""Vision encoders by family (CLIP, SigLIP, DINOv2, ViT, ResNet, ConvNeXt) through transformers, each giving one
feature vector per image (or region crop): what FLMR's mapping network turns into visual tokens.

The feature, per family (`FEATURE`):
- CLIP: the first (CLS) token of `last_hidden_state`, which CLIP returns before its post-layernorm: the input the
  official FLMR code feeds its mapping network (not `pooler_output`, the CLS after post-layernorm).
- ViT, DINOv2: the CLS token of `last_hidden_state` (these models apply their final layernorm inside it).
- SigLIP: `pooler_output`, its attention-pooling head (SigLIP has no CLS token; its first token is a patch).
- ResNet, ConvNeXt: `pooler_output`, global average pooling of the last stage, flattened.

`source` is "tiny" (a random-init model from the family's config with `tiny` overrides: tests and toy studies), a
local folder in the family's Hugging Face layout (`save_pretrained`: config.json + weights, and the image
processor's preprocessor_config.json where present), or a hub id with a pinned `revision`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from harness.backbones import check_loaded
from harness.hub import local_folder
from harness.errors import InputError


@dataclass(frozen=True)
class Family:
    config: str        # transformers config class
    model: str         # transformers vision model class
    processor: str     # image processor class used for tiny models and folders without a preprocessor config
    feature: str       # "cls": last_hidden_state[:, 0]; "pooled": pooler_output (flattened)


FAMILIES: dict[str, Family] = {
    "clip": Family("CLIPVisionConfig", "CLIPVisionModel", "CLIPImageProcessor", "cls"),
    "siglip": Family("SiglipVisionConfig", "SiglipVisionModel", "SiglipImageProcessor", "pooled"),
    "dinov2": Family("Dinov2Config", "Dinov2Model", "BitImageProcessor", "cls"),
    "vit": Family("ViTConfig", "ViTModel", "ViTImageProcessor", "cls"),
    "resnet": Family("ResNetConfig", "ResNetModel", "ConvNextImageProcessor", "pooled"),
    "convnext": Family("ConvNextConfig", "ConvNextModel", "ConvNextImageProcessor", "pooled"),
}
CNN_IMAGE_SIZE = 224  # CNN configs carry no image size; the processor resizes to this unless `image_size` is set


def _family(spec: dict[str, Any]) -> tuple[str, Family]:
    name = str(spec.get("family", "clip")).lower()
    if name not in FAMILIES:
        raise InputError("params", "vision.family", f"unknown family {name!r} (known: {', '.join(FAMILIES)})")
    return name, FAMILIES[name]


def _cls(name: str) -> Any:
    import transformers

    return getattr(transformers, name)


class VisionEncoder(nn.Module):
    """A family's vision model and its feature rule: `forward(pixel_values) -> [B, feature_size]`."""

    def __init__(self, family: str, model: nn.Module, processor: Any, image_size: int):
        super().__init__()
        self.family, self.model, self.processor, self.image_size = family, model, processor, image_size
        self.feature = FAMILIES[family].feature
        cfg = model.config
        self.feature_size = int(cfg.hidden_sizes[-1]) if hasattr(cfg, "hidden_sizes") else int(cfg.hidden_size)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        out = self.model(pixel_values=pixel_values)
        if self.feature == "cls":
            return out.last_hidden_state[:, 0]
        return out.pooler_output.flatten(1)

    def pixels(self, images: list[Any]) -> torch.Tensor:
        """PIL images (whole images or region crops) -> the family's normalised pixel tensor."""
        return self.processor(images=images, return_tensors="pt")["pixel_values"]


def _processor_class(name: str) -> Any:
    """The PIL implementation where transformers has one (the default class wants torchvision, not a dependency)."""
    import transformers

    return getattr(transformers, name + "Pil", None) or getattr(transformers, name)


def _tiny_processor(fam: Family, image_size: int) -> Any:
    size, cls = {"height": image_size, "width": image_size}, _processor_class(fam.processor)
    if fam.processor == "ConvNextImageProcessor":  # resizes the shorter side, then centre-crops at crop_pct
        return cls(size={"shortest_edge": image_size}, crop_pct=1.0)
    if fam.processor in ("CLIPImageProcessor", "BitImageProcessor"):
        return cls(size={"shortest_edge": image_size}, crop_size=size)
    return cls(size=size)


def build_vision_encoder(spec: dict[str, Any], seed: int = 0) -> VisionEncoder:
    """The encoder `spec` names: {family, source: tiny | folder | hub id, revision, tiny: {config overrides},
    image_size (CNNs)}."""
    name, fam = _family(spec)
    source = spec.get("source", "tiny")
    if source == "tiny":
        torch.manual_seed(seed)
        config = _cls(fam.config)(**spec.get("tiny", {}))
        model = _cls(fam.model)(config)
        size = int(getattr(config, "image_size", 0) or spec.get("image_size", CNN_IMAGE_SIZE))
        return VisionEncoder(name, model.eval(), _tiny_processor(fam, size), size)
    folder = local_folder({"source": source, "revision": spec.get("revision")}, ("params", "vision.revision"))
    try:
        model, info = _cls(fam.model).from_pretrained(folder, output_loading_info=True)
    except (OSError, ValueError) as exc:
        raise InputError("params", "vision.source", f"cannot load {source!r} as {name} "
                                                    f"({str(exc).splitlines()[0]})") from None
    check_loaded(info, source, "vision.source", tolerated=())
    size = int(getattr(model.config, "image_size", 0) or spec.get("image_size", CNN_IMAGE_SIZE))
    processor = None
    if not (Path(folder) / "preprocessor_config.json").is_file():
        processor = _tiny_processor(fam, size)  # a folder with weights only: the family's default preprocessing
    if processor is None:
        from transformers import AutoImageProcessor

        try:
            processor = AutoImageProcessor.from_pretrained(folder)
        except (OSError, ValueError) as exc:
            raise InputError("params", "vision.source", f"no image processor for {source!r} "
                                                        f"({str(exc).splitlines()[0]})") from None
    return VisionEncoder(name, model.eval(), processor, size)


# each family at a toy size (32-pixel images): the tests and the toy backbone study use these
TINY_CONFIGS: dict[str, dict[str, Any]] = {
    "clip": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
             "image_size": 32, "patch_size": 16},
    "siglip": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
               "image_size": 32, "patch_size": 16},
    "dinov2": {"hidden_size": 32, "mlp_ratio": 2, "num_hidden_layers": 2, "num_attention_heads": 2,
               "image_size": 32, "patch_size": 16},
    "vit": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
            "image_size": 32, "patch_size": 16},
    "resnet": {"embedding_size": 16, "hidden_sizes": [16, 32], "depths": [1, 1], "layer_type": "basic",
               "out_features": None},
    "convnext": {"num_stages": 2, "hidden_sizes": [16, 32], "depths": [1, 1]},
}


def save_vision_encoder(enc: VisionEncoder, model_dir: Path) -> dict[str, Any]:
    """Write the image processor beside a model folder's weights (which hold the vision model's tensors) and
    return what `load_vision_encoder` needs from the folder's config: the family and the model config."""
    enc.processor.save_pretrained(str(Path(model_dir) / "image_processor"))
    return {"family": enc.family, "config": enc.model.config.to_dict(), "image_size": enc.image_size}


def load_vision_encoder(saved: dict[str, Any], model_dir: Path) -> VisionEncoder:
    """The architecture from `save_vision_encoder`'s record (weights come from the model folder afterwards)."""
    from transformers import AutoImageProcessor

    fam = FAMILIES[saved["family"]]
    config = _cls(fam.config)(**{k: v for k, v in saved["config"].items() if k not in ("architectures",)})
    processor = AutoImageProcessor.from_pretrained(str(Path(model_dir) / "image_processor"))
    return VisionEncoder(saved["family"], _cls(fam.model)(config).eval(), processor, int(saved["image_size"]))
