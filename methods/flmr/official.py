"""Load published FLMR weights (Hugging Face layout, e.g. `LinWeizheDragon/FLMR`) from a local folder onto
`FLMRRetriever`. Nothing is unpickled: safetensors, or `torch.load(weights_only=True)` for a .bin file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer, BertConfig, BertModel, BertTokenizer

from harness.errors import InputError
from harness.hub import local_folder
from harness.vision_encoders import build_vision_encoder
from methods.flmr.model import FLMRRetriever

PREFIXES = {  # checkpoint prefix -> our prefix
    "query_text_encoder.bert_model.": "text_encoder.",
    "query_text_encoder_linear.": "linear.",
    "query_vision_encoder.vision_model.": "vision.model.",
    "query_vision_projection.model.": "mapping.",
}
UNSUPPORTED = ("transformer_mapping", "query_vision_encoder_linear")


def read_state(folder: Path) -> dict[str, torch.Tensor]:
    st, binf = folder / "model.safetensors", folder / "pytorch_model.bin"
    if st.is_file():
        return load_file(str(st))
    if binf.is_file():
        return torch.load(binf, map_location="cpu", weights_only=True)
    raise InputError(folder, "model.safetensors", "no weights file (model.safetensors or pytorch_model.bin)")


def map_state(state: dict[str, torch.Tensor], folder: Path) -> dict[str, torch.Tensor]:
    bad = sorted(k for k in state if any(u in k for u in UNSUPPORTED))
    if bad:
        raise InputError(folder, bad[0], "PreFLMR's transformer mapping network is not supported")
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.startswith("context_"):
            twin = "query_" + key[len("context_"):]
            if twin in state and not torch.equal(state[twin], value):
                raise InputError(folder, key, "differs from its query twin: separate query/context encoders "
                                              "are not supported")
            continue
        for src, dst in PREFIXES.items():
            if key.startswith(src):
                out[dst + key[len(src):]] = value
                break
    return out


def _vision_key(key: str, own: dict) -> str:
    """CLIPVisionModel keys carry one `vision_model.` level here; the checkpoints have it once or twice (from the
    official wrapper). Match whatever this model uses."""
    if not key.startswith("vision.model.") or key in own:
        return key
    rest = key[len("vision.model."):]
    while rest.startswith("vision_model."):
        rest = rest[len("vision_model."):]
        for candidate in ("vision.model.vision_model." + rest, "vision.model." + rest):
            if candidate in own:
                return candidate
    return key


def load_tokenizer(folder: Path):
    """The query tokenizer folder. The official FLMR tokenizer classes are BERT WordPiece tokenizers with the
    ColBERT conventions (". " prefix, markers, [MASK] padding), which FLMRRetriever applies itself: read their
    vocabulary as a plain BERT tokenizer."""
    tok_dir = folder / "query_tokenizer" if (folder / "query_tokenizer").is_dir() else folder
    config_file = tok_dir / "tokenizer_config.json"
    config = json.loads(config_file.read_text()) if config_file.is_file() else {}
    if str(config.get("tokenizer_class", "")).startswith("FLMR"):
        if not (tok_dir / "vocab.txt").is_file():
            raise InputError(tok_dir, "vocab.txt", "missing: the official FLMR tokenizer folder holds its vocabulary")
        return BertTokenizer(vocab=str(tok_dir / "vocab.txt"),
                             do_lower_case=bool(config.get("do_lower_case", True)))
    return AutoTokenizer.from_pretrained(str(tok_dir))


def load_official(source: str | Path, overrides: dict[str, Any] | None = None,
                  revision: str | None = None) -> FLMRRetriever:
    """An official FLMR checkpoint from a local folder, or from a hub id (e.g. LinWeizheDragon/FLMR) at a pinned
    `revision`, fetched as a snapshot (harness/hub.py) and then read by the same code as a folder."""
    folder = Path(local_folder({"source": str(source), "revision": revision}, ("params", "revision")))
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        raise InputError(cfg_path, "-", "not found: point at a local copy of the checkpoint folder")
    cfg = json.loads(cfg_path.read_text())
    text_cfg = BertConfig(**{k: v for k, v in cfg["text_config"].items() if k != "model_type"})
    vision_cfg = {k: v for k, v in cfg["vision_config"].items() if k != "model_type"}
    tokenizer = load_tokenizer(folder)
    state = map_state(read_state(folder), folder)
    dim = int(state["linear.weight"].shape[0])
    visual = int(state["mapping.2.weight"].shape[0]) // dim if "mapping.2.weight" in state else 32
    params = {"dim": dim, "query_maxlen": int(cfg.get("query_maxlen", 32)), "doc_maxlen": 512,
              "query_augmentation": True, "attend_to_mask_tokens": False, "mask_punctuation": True,
              "use_vision_text": True, "use_image_features": "mapping.0.weight" in state, "use_rois": False,
              "num_rois": 9, "visual_tokens": visual,
              "mapping_hidden": int(state["mapping.0.weight"].shape[0]) if "mapping.0.weight" in state else 2048,
              "vision": {"source": str(source), "revision": revision, "freeze": True}, "pretrain_mapping": {"steps": 0},
              "encode_batch_size": 32, **(overrides or {})}
    text = BertModel(text_cfg, add_pooling_layer="text_encoder.pooler.dense.weight" in state)
    text.resize_token_embeddings(int(state["text_encoder.embeddings.word_embeddings.weight"].shape[0]))
    vision = build_vision_encoder({"family": "clip", "tiny": vision_cfg}) if params["use_image_features"] else None
    model = FLMRRetriever(text, vision, tokenizer, params)
    own = model.state_dict()
    state = {_vision_key(k, own): v for k, v in state.items()}
    unknown = sorted(set(state) - set(own))
    if unknown:
        raise InputError(folder, unknown[0], "checkpoint weight has no place in the model")
    missing = sorted(k for k in own if k not in state and not k.endswith("position_ids"))
    if missing:
        raise InputError(folder, missing[0], "model weight missing from the checkpoint")
    model.load_state_dict(state, strict=False)
    return model.eval()
