"""Official FLMR checkpoints load onto our modules: tested on a tiny checkpoint written in the same layout."""

import json

import pytest
import torch

from harness import methods
from safetensors.torch import save_file
from torch import nn
from transformers import BertConfig, BertModel, CLIPVisionConfig, CLIPVisionModel

from harness import backbones
from harness.api import Passage
from harness.errors import InputError
from methods.flmr.official import load_official

TEXT = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
VISION = dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, image_size=32,
              patch_size=16)


def _write_checkpoint(folder, tamper=None):
    tok = backbones.load_tokenizer({"source": "tiny"})
    torch.manual_seed(0)
    bert = BertModel(BertConfig(vocab_size=len(tok), **TEXT), add_pooling_layer=False)
    clip = CLIPVisionModel(CLIPVisionConfig(**VISION))
    linear = nn.Linear(32, 16, bias=False)
    mapping = nn.Sequential(nn.Linear(32, 64), nn.Tanh(), nn.Linear(64, 4 * 16))
    state = {}
    for side in ("query", "context"):
        state |= {f"{side}_text_encoder.bert_model.{k}": v for k, v in bert.state_dict().items()}
        state |= {f"{side}_text_encoder_linear.{k}": v for k, v in linear.state_dict().items()}
        state |= {f"{side}_vision_encoder.vision_model.{k}": v for k, v in clip.state_dict().items()}
        state |= {f"{side}_vision_projection.model.{k}": v for k, v in mapping.state_dict().items()}
    state = {k: v.clone().contiguous() for k, v in state.items()}
    if tamper:
        tamper(state)
    folder.mkdir()
    save_file(state, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"text_config": {"vocab_size": len(tok), **TEXT},
                                                    "vision_config": VISION, "query_maxlen": 16}))
    tok.save_pretrained(str(folder / "query_tokenizer"))
    return bert, linear


def test_weights_map_onto_our_modules(tmp_path):
    bert, linear = _write_checkpoint(tmp_path / "ckpt")
    bert.eval()
    model = load_official(tmp_path / "ckpt")
    assert torch.equal(model.linear.weight, linear.weight)
    assert model.uses_images and model.params["visual_tokens"] == 4 and model.params["dim"] == 16
    emb = model.encode_passages([Passage("p", "", "a small red triangle")])
    enc = model._tokenize(["a small red triangle"], model.d_marker, 512, False)
    with torch.no_grad():
        ref = torch.nn.functional.normalize(linear(bert(input_ids=enc["input_ids"]).last_hidden_state), dim=-1)
    assert torch.allclose(torch.from_numpy(emb.tokens), ref[0], atol=1e-5)


def test_separate_encoders_are_refused(tmp_path):
    def tamper(state):
        state["context_text_encoder_linear.weight"] = state["context_text_encoder_linear.weight"] + 1
    _write_checkpoint(tmp_path / "ckpt", tamper)
    with pytest.raises(InputError, match="separate query/context"):
        load_official(tmp_path / "ckpt")


def test_preflmr_transformer_mapping_is_refused(tmp_path):
    def tamper(state):
        state["transformer_mapping_input_linear.weight"] = torch.zeros(2, 2)
    _write_checkpoint(tmp_path / "ckpt", tamper)
    with pytest.raises(InputError, match="not supported"):
        load_official(tmp_path / "ckpt")


def test_colbert_checkpoint_brings_its_projection(tmp_path):
    """A local ColBERT folder (BERT weights + `linear.weight`) initialises both encoder and projection."""
    from pathlib import Path

    from methods.flmr.model import FLMRRetriever

    tok = backbones.load_tokenizer({"source": "tiny"})
    bert = BertModel(BertConfig(vocab_size=len(tok), **TEXT), add_pooling_layer=False)
    folder = tmp_path / "colbert"
    bert.save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    weight = torch.randn(16, 32)
    state = {k: v.contiguous() for k, v in bert.state_dict().items()} | {"linear.weight": weight}
    save_file(state, str(folder / "model.safetensors"))
    params = methods.default_params(methods.get("flmr"))
    params.update(dim=16, backbone={"source": str(folder)})
    model = FLMRRetriever.create(params, seed=0)
    assert torch.equal(model.linear.weight, weight)
    assert torch.equal(model.text_encoder.embeddings.word_embeddings.weight, bert.embeddings.word_embeddings.weight)
