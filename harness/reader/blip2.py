"""A BLIP-2 Flan-T5 reader with LoRA (peft): the paper profile's reader (FLMR reports VQA 62.1 with BLIP-2).

The image goes through BLIP-2's vision encoder and Q-Former into `num_query_tokens` soft tokens that take the
place of image placeholder tokens in front of the text (question, vision text and passages, as the T5 reader
builds it); only LoRA adapters on the T5's attention (q, v) are trained. Everything else (the shared loop,
per-passage joint scoring, answer substitution) is the T5 reader's.

Sources: `backbone.source: tiny` (a random-init config with the offline WordPiece vocabulary: tests, and any
machine without the hub), a local folder, or a hub id such as Salesforce/blip2-flan-t5-xl with a pinned
`revision` (needs the hub and, in practice, a GPU; not reachable here). Needs the optional extra `peft`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoTokenizer, Blip2Config, Blip2ForConditionalGeneration

from harness import backbones, modeling
from harness.api import Passage, Query
from harness.data.images import load_image
from harness.errors import InputError
from harness.reader.seq2seq import Seq2SeqReader

CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)  # BLIP-2's image normalisation
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def _peft():
    try:
        import peft
    except ImportError:
        raise InputError("params.yaml", "reader.backbone.kind",
                         "'blip2' needs the optional extra peft (pip install 'flmr-bench[blip2]')") from None
    return peft


def _tiny_config(tok: Any, t: dict[str, Any]) -> Blip2Config:
    h = int(t.get("hidden", 32))
    vision = {"hidden_size": h, "intermediate_size": 2 * h, "num_hidden_layers": 1, "num_attention_heads": 2,
              "image_size": int(t.get("image_size", 32)), "patch_size": int(t.get("patch_size", 8))}
    qformer = {"hidden_size": h, "intermediate_size": 2 * h, "num_hidden_layers": 1, "num_attention_heads": 2,
               "encoder_hidden_size": h, "vocab_size": 128}
    text = {"model_type": "t5", "vocab_size": len(tok), "d_model": h, "d_ff": 2 * h, "d_kv": h // 2,
            "num_layers": 1, "num_heads": 2, "pad_token_id": tok.pad_token_id, "eos_token_id": tok.sep_token_id,
            "decoder_start_token_id": tok.pad_token_id}
    image_token = tok.convert_tokens_to_ids("[unused2]")  # a placeholder the text never contains
    return Blip2Config(vision_config=vision, qformer_config=qformer, text_config=text,
                       num_query_tokens=int(t.get("query_tokens", 4)), image_token_index=image_token)


class Blip2Reader(Seq2SeqReader):
    @classmethod
    def create(cls, params: dict[str, Any], seed: int) -> "Blip2Reader":
        spec = params["backbone"]
        torch.manual_seed(seed)
        if spec.get("source", "tiny") == "tiny":
            tok = backbones.load_tokenizer({"source": "tiny"})
            model = Blip2ForConditionalGeneration(_tiny_config(tok, spec.get("tiny", {})))
        else:
            tok = AutoTokenizer.from_pretrained(spec["source"], **backbones._hub_kwargs(spec))
            model = Blip2ForConditionalGeneration.from_pretrained(spec["source"], **backbones._hub_kwargs(spec))
        return cls(cls._with_lora(model, params), tok, params)

    @staticmethod
    def _with_lora(model: Blip2ForConditionalGeneration, params: dict[str, Any]):
        lora = {"r": 8, "alpha": 16, "dropout": 0.05, "targets": ["q", "v"], **params.get("lora", {})}
        peft = _peft()
        config = peft.LoraConfig(r=int(lora["r"]), lora_alpha=int(lora["alpha"]), lora_dropout=float(lora["dropout"]),
                                 target_modules=list(lora["targets"]))
        return peft.get_peft_model(model, config)  # freezes everything but the adapters

    def save(self, out_dir: Path) -> None:
        base = self.model.get_base_model()
        self._save_folder({"reader": "blip2", "params": self.params, "model_config": base.config.to_dict()}, out_dir)

    @classmethod
    def load(cls, model_dir: Path, device: str = "cpu") -> "Blip2Reader":
        cfg = modeling.read_config(model_dir)
        tok = AutoTokenizer.from_pretrained(str(Path(model_dir) / "tokenizer"))
        config = Blip2Config(**{k: v for k, v in cfg["model_config"].items() if k != "architectures"})
        reader = cls(cls._with_lora(Blip2ForConditionalGeneration(config), cfg["params"]), tok, cfg["params"])
        modeling.load_weights(reader, model_dir, device)
        return reader.to(device).eval()

    @property
    def eos_token_id(self) -> int:
        return int(self.model.get_base_model().config.text_config.eos_token_id)

    def _pixels(self, queries: list[Query]) -> torch.Tensor:
        size = int(self.model.get_base_model().config.vision_config.image_size)
        out = np.zeros((len(queries), 3, size, size), dtype=np.float32)  # no image: a blank (mean) picture
        for i, q in enumerate(queries):
            if q.image is not None:
                im = load_image(Path(q.image), qid=q.qid).resize((size, size))
                out[i] = ((np.asarray(im, dtype=np.float32) / 255.0 - CLIP_MEAN) / CLIP_STD).transpose(2, 0, 1)
        return torch.from_numpy(out)

    def _inputs(self, queries: list[Query], contexts: list[list[Passage]]) -> dict[str, torch.Tensor]:
        enc = super()._inputs(queries, contexts)
        config = self.model.get_base_model().config
        n = int(config.num_query_tokens)
        image = torch.full((enc["input_ids"].shape[0], n), int(config.image_token_index), device=self.device)
        return {"input_ids": torch.cat([image, enc["input_ids"]], 1),
                "attention_mask": torch.cat([torch.ones_like(image), enc["attention_mask"]], 1),
                "pixel_values": self._pixels(queries).to(self.device)}
