"""A BLIP-2 Flan-T5 reader with LoRA (peft): the paper profile's reader (FLMR reports VQA 62.1 with BLIP-2).

The image goes through BLIP-2's vision encoder and Q-Former into `num_query_tokens` soft tokens that take the
place of image placeholder tokens in front of the text (question, vision text and passages, as the T5 reader
builds it); only LoRA adapters on the T5's attention (q, v) are trained. Everything else (the shared loop,
per-passage joint scoring, answer substitution) is the T5 reader's.

Sources: `backbone.source: tiny` (a random-init config with the offline WordPiece vocabulary: tests, and any
machine without the hub), a local folder, or a hub id such as Salesforce/blip2-flan-t5-xl with a pinned
`revision` (needs the hub and, in practice, a GPU; not reachable here). Needs the optional extra `peft`.

A pretrained base (a folder or hub id) loads in bfloat16 on a GPU that supports it (float16 on one that does not,
float32 on CPU; `backbone.dtype` overrides), with the LoRA adapters kept in float32, and the model folder holds the
adapters alone (peft's adapter_model.safetensors): reloading is the pinned base plus the adapters. A tiny
random-init base has no source to reload from, so its folder holds every weight.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoTokenizer, Blip2Config, Blip2ForConditionalGeneration

from harness import backbones, modeling
from harness.hub import local_folder
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


def base_dtype(spec: dict[str, Any]) -> torch.dtype:
    """The pretrained base's dtype: `backbone.dtype` if set, else bfloat16 on a GPU with it, float16 on another
    GPU, float32 on CPU (the LoRA adapters train in float32 either way)."""
    name = spec.get("dtype", "auto")
    if name != "auto":
        return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]
    if not torch.cuda.is_available():
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _load_base(spec: dict[str, Any]) -> tuple[Any, Blip2ForConditionalGeneration]:
    folder = local_folder(spec, ("params", "reader.backbone.revision"))
    tok = AutoTokenizer.from_pretrained(folder)
    model, info = Blip2ForConditionalGeneration.from_pretrained(folder, dtype=base_dtype(spec), output_loading_info=True)
    backbones.check_loaded(info, spec["source"], "reader.backbone.source", tolerated=())
    return tok, model


ADAPTER = "adapter"  # the model folder's adapter subfolder (peft's save_pretrained layout)


class Blip2Reader(Seq2SeqReader):
    @classmethod
    def create(cls, params: dict[str, Any], seed: int) -> "Blip2Reader":
        spec = params["backbone"]
        torch.manual_seed(seed)
        if spec.get("source", "tiny") == "tiny":
            tok = backbones.load_tokenizer({"source": "tiny"})
            model = Blip2ForConditionalGeneration(_tiny_config(tok, spec.get("tiny", {})))
        else:
            tok, model = _load_base(spec)
        return cls(cls._with_lora(model, params), tok, params)

    @staticmethod
    def _with_lora(model: Blip2ForConditionalGeneration, params: dict[str, Any]):
        lora = {"r": 8, "alpha": 16, "dropout": 0.05, "targets": ["q", "v"], **params.get("lora", {})}
        peft = _peft()
        config = peft.LoraConfig(r=int(lora["r"]), lora_alpha=int(lora["alpha"]), lora_dropout=float(lora["dropout"]),
                                 target_modules=list(lora["targets"]))
        wrapped = peft.get_peft_model(model, config)  # freezes everything but the adapters
        for p in wrapped.parameters():
            if p.requires_grad:
                p.data = p.data.float()  # adapters learn in float32 over a bfloat16/float16 base
        return wrapped

    @property
    def saves_adapter_only(self) -> bool:
        return self.params["backbone"].get("source", "tiny") != "tiny"

    def save(self, out_dir: Path) -> None:
        base = self.model.get_base_model()
        config = {"reader": "blip2", "params": self.params, "model_config": base.config.to_dict()}
        if not self.saves_adapter_only:
            self._save_folder(config, out_dir)
            return
        import json

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(out_dir / ADAPTER))  # adapter_model.safetensors + adapter_config.json
        # name the base by its id and commit, not by this machine's snapshot path, so the folder is the same anywhere
        adapter_config = out_dir / ADAPTER / "adapter_config.json"
        spec = self.params["backbone"]
        adapter_config.write_text(json.dumps({**json.loads(adapter_config.read_text(encoding="utf-8")),
                                              "base_model_name_or_path": spec["source"],
                                              "revision": spec.get("revision")}, indent=2, sort_keys=True),
                                  encoding="utf-8")
        (out_dir / modeling.CONFIG).write_text(json.dumps({**config, "adapter": ADAPTER}, indent=2, sort_keys=True),
                                               encoding="utf-8")
        self.tokenizer.save_pretrained(str(out_dir / "tokenizer"))

    @classmethod
    def load(cls, model_dir: Path, device: str = "cpu") -> "Blip2Reader":
        cfg = modeling.read_config(model_dir)
        if cfg.get("adapter"):  # the pinned base plus the saved adapters
            _, base = _load_base(cfg["params"]["backbone"])
            peft = _peft()
            model = peft.PeftModel.from_pretrained(base, str(Path(model_dir) / cfg["adapter"]))
            tok = AutoTokenizer.from_pretrained(str(Path(model_dir) / "tokenizer"))
            return cls(model, tok, cfg["params"]).to(device).eval()
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
        return torch.from_numpy(out).to(self.model.get_base_model().dtype)  # the base's dtype (bfloat16 on GPU)

    def _inputs(self, queries: list[Query], contexts: list[list[Passage]]) -> dict[str, torch.Tensor]:
        enc = super()._inputs(queries, contexts)
        config = self.model.get_base_model().config
        n = int(config.num_query_tokens)
        image = torch.full((enc["input_ids"].shape[0], n), int(config.image_token_index), device=self.device)
        return {"input_ids": torch.cat([image, enc["input_ids"]], 1),
                "attention_mask": torch.cat([torch.ones_like(image), enc["attention_mask"]], 1),
                "pixel_values": self._pixels(queries).to(self.device)}
