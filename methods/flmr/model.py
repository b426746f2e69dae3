"""FLMR retriever: ColBERT text tokens + mapped vision tokens of the image (and regions), late interaction. The vision
encoder is any family of harness/vision_encoders.py (CLIP by default, as in the paper)."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoTokenizer

from harness import backbones, modeling
from harness.api import MultiVectorEmbeddings, Passage, Query
from harness.distributed.in_batch import gather_rows, in_batch_loss
from harness.data.images import load_image
from harness.errors import InputError
from harness.index.maxsim import maxsim
from harness.text import passage_text, query_text
from harness.progress import batched
from methods.flmr.rois import select_rois
from harness.vision_encoders import VisionEncoder, build_vision_encoder, load_vision_encoder, save_vision_encoder
from methods.flmr.vision import crop

Q_MARKER, D_MARKER = "[unused0]", "[unused1]"  # ColBERT's query and document markers in a BERT vocabulary


def build_vision(spec: dict[str, Any], seed: int) -> VisionEncoder:
    return build_vision_encoder({"family": "clip", **spec}, seed)


def colbert_linear_weight(spec: dict[str, Any]) -> torch.Tensor | None:
    """ColBERT checkpoints (e.g. colbert-ir/colbertv2.0: `bert.*` and `linear.weight`) keep their projection
    beside the BERT weights; AutoModel drops it, so read it from the checkpoint folder (a hub id's pinned snapshot
    or a local copy). None for backbones that have none; a ColBERT checkpoint without it is an error."""
    if spec.get("source", "tiny") in ("tiny", "minilm"):
        return None
    folder = Path(backbones.backbone_folder(spec))
    weight = None
    if (folder / "model.safetensors").is_file():
        from safetensors import safe_open

        with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
            weight = f.get_tensor("linear.weight") if "linear.weight" in f.keys() else None
    elif (folder / "pytorch_model.bin").is_file():  # a local copy only: hub snapshots fetch safetensors
        weight = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True).get("linear.weight")
    config = folder / "config.json"
    is_colbert = config.is_file() and "colbert" in config.read_text(encoding="utf-8").lower()
    if weight is None and is_colbert:
        raise InputError(folder, "linear.weight", "a ColBERT checkpoint without its projection: the run would start "
                                                  "from a random one")
    return weight


class FLMRRetriever(nn.Module):
    family = "late-interaction"

    def __init__(self, text_encoder: nn.Module, vision: VisionEncoder | None, tokenizer: Any, params: dict[str, Any]):
        super().__init__()
        self.params = params
        self.tokenizer = tokenizer
        self.text_encoder = text_encoder
        dim = int(params["dim"])
        self.linear = nn.Linear(text_encoder.config.hidden_size, dim, bias=False)
        self.vision = vision
        if self.uses_images:
            n_tok = int(params["visual_tokens"])
            self.mapping = nn.Sequential(nn.Linear(vision.feature_size, int(params["mapping_hidden"])), nn.Tanh(),
                                         nn.Linear(int(params["mapping_hidden"]), n_tok * dim))
            if params["vision"].get("freeze", True):
                vision.requires_grad_(False)
        self.q_marker, self.d_marker = tokenizer.convert_tokens_to_ids([Q_MARKER, D_MARKER])
        self.punct_ids = torch.tensor(sorted({i for c in string.punctuation
                                              for i in tokenizer.encode(c, add_special_tokens=False)}))
        self._features: dict[tuple, torch.Tensor] = {}  # frozen vision features, computed once per image/box
        self.mapping_only = False  # True during mapping-network pre-training

    # --- construction, saving, loading -------------------------------------------------------------------------
    @property
    def uses_images(self) -> bool:
        return bool(self.params.get("use_image_features") or self.params.get("use_rois"))

    @classmethod
    def create(cls, params: dict[str, Any], seed: int) -> "FLMRRetriever":
        tok = backbones.load_tokenizer(params["backbone"])
        text = backbones.build_text_encoder(params["backbone"], len(tok), seed)
        uses_images = params.get("use_image_features") or params.get("use_rois")
        vision = build_vision(params["vision"], seed + 7) if uses_images else None
        torch.manual_seed(seed + 11)
        model = cls(text, vision, tok, params)
        weight = colbert_linear_weight(params["backbone"])
        if weight is not None:
            if tuple(weight.shape) != tuple(model.linear.weight.shape):
                raise InputError(params["backbone"]["source"], "linear.weight",
                                 f"shape {tuple(weight.shape)} does not fit dim x hidden {tuple(model.linear.weight.shape)}")
            with torch.no_grad():
                model.linear.weight.copy_(weight)
        return model

    def save(self, out_dir: Path) -> None:
        cfg = {"method": "flmr", "params": self.params, "encoder_config": self.text_encoder.config.to_dict(),
               "vision": save_vision_encoder(self.vision, Path(out_dir)) if self.vision is not None else None}
        modeling.save_folder(self, cfg, out_dir, self.tokenizer)

    @classmethod
    def load(cls, model_dir: Path, device: str = "cpu") -> "FLMRRetriever":
        cfg = modeling.read_config(model_dir)
        tok = AutoTokenizer.from_pretrained(str(Path(model_dir) / "tokenizer"))
        vision = load_vision_encoder(cfg["vision"], Path(model_dir)) if cfg.get("vision") else None
        model = cls(backbones.encoder_from_config(cfg["encoder_config"]), vision, tok, cfg["params"])
        modeling.load_weights(model, model_dir, device)
        return model.to(device).eval()

    @property
    def device(self) -> torch.device:
        return self.linear.weight.device

    # --- training phases (called by harness.pipeline.fit) ------------------------------------------------------
    def phases(self) -> list[dict[str, Any]]:
        """Mapping-network pre-training before fine-tuning, when configured and when the query has images."""
        pre = self.params.get("pretrain_mapping") or {}
        if not self.uses_images or int(pre.get("steps", 0)) <= 0:
            return []
        return [{"name": "pretrain_mapping", "steps": int(pre["steps"]), "lr": float(pre["lr"])}]

    def set_phase(self, name: str) -> None:
        """pretrain_mapping: queries are image tokens only and only the mapping network learns (text frozen)."""
        self.mapping_only = name == "pretrain_mapping"
        self.text_encoder.requires_grad_(not self.mapping_only)
        self.linear.requires_grad_(not self.mapping_only)

    # --- text -------------------------------------------------------------------------------------------------
    def _tokenize(self, texts: list[str], marker: int, maxlen: int, augment: bool) -> dict[str, torch.Tensor]:
        """[CLS] marker tokens... [SEP]; queries are padded with [MASK] to maxlen when augmented."""
        enc = self.tokenizer(texts, padding="max_length" if augment else "longest", truncation=True,
                             max_length=maxlen - 1, return_tensors="pt")
        ids, att = enc["input_ids"], enc["attention_mask"]
        ids = torch.cat([ids[:, :1], torch.full_like(ids[:, :1], marker), ids[:, 1:]], dim=1)
        att = torch.cat([att[:, :1], torch.ones_like(att[:, :1]), att[:, 1:]], dim=1)
        score_mask = att.bool()
        if augment:
            ids = ids.masked_fill(att == 0, self.tokenizer.mask_token_id)
            score_mask = torch.ones_like(score_mask)  # every [MASK] token takes part in scoring (ColBERT)
            if self.params.get("attend_to_mask_tokens", False):
                att = torch.ones_like(att)
        return {"input_ids": ids.to(self.device), "attention_mask": att.to(self.device),
                "score_mask": score_mask.to(self.device)}

    def _text_tokens(self, enc: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = self.text_encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
        return F.normalize(self.linear(hidden), dim=-1)

    # --- images -----------------------------------------------------------------------------------------------
    def _regions(self, q: Query) -> list:
        if q.image is None:
            return []
        boxes = select_rois(q.rois, q.text, int(self.params["num_rois"])) if self.params.get("use_rois") else []
        return [None] + boxes  # None = the whole image

    def _vision_features(self, queries: list[Query]) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, R, hidden] vision features of the whole image and its regions, and a mask [B, R]."""
        n_slots = 1 + (int(self.params["num_rois"]) if self.params.get("use_rois") else 0)
        hidden = self.vision.feature_size
        feats = torch.zeros((len(queries), n_slots, hidden), device=self.device)
        mask = torch.zeros((len(queries), n_slots), dtype=torch.bool, device=self.device)
        frozen = self.params["vision"].get("freeze", True)
        todo: list[tuple[int, int, tuple, Any]] = []
        for i, q in enumerate(queries):
            for j, box in enumerate(self._regions(q)):
                key = (str(q.image), None if box is None else (box.x0, box.y0, box.x1, box.y1))
                mask[i, j] = True
                if frozen and key in self._features:
                    feats[i, j] = self._features[key].to(self.device)
                else:
                    todo.append((i, j, key, box))
        if todo:
            images: dict[str, Any] = {}
            crops = []
            for i, _, key, box in todo:
                img = images.get(key[0]) or images.setdefault(key[0], load_image(queries[i].image, qid=queries[i].qid))
                crops.append(img if box is None else crop(img, box))
            with torch.set_grad_enabled(not frozen and torch.is_grad_enabled()):
                out = self.vision(self.vision.pixels(crops).to(self.device))
            for (i, j, key, _), f in zip(todo, out):
                feats[i, j] = f
                if frozen:
                    self._features[key] = f.detach().cpu()
        return feats, mask

    def _visual_tokens(self, queries: list[Query]) -> tuple[torch.Tensor, torch.Tensor]:
        feats, mask = self._vision_features(queries)
        return self.map_features(feats), mask.repeat_interleave(int(self.params["visual_tokens"]), dim=1)

    def map_features(self, feats: torch.Tensor) -> torch.Tensor:
        """[B, R, hidden] vision features -> [B, R * visual_tokens, dim] normalised tokens, region-major (as the
        official FLMR query encoder orders them)."""
        n_tok, dim = int(self.params["visual_tokens"]), int(self.params["dim"])
        tokens = self.mapping(feats).view(len(feats), -1, n_tok, dim)
        return F.normalize(tokens, dim=-1).view(len(feats), -1, dim)

    # --- queries and documents --------------------------------------------------------------------------------
    def _queries(self, queries: list[Query]) -> tuple[torch.Tensor, torch.Tensor]:
        parts, masks = [], []
        if not self.mapping_only:
            texts = [query_text(q, self.params.get("use_vision_text", True)) for q in queries]
            enc = self._tokenize(texts, self.q_marker, int(self.params["query_maxlen"]),
                                 bool(self.params.get("query_augmentation", True)))
            parts.append(self._text_tokens(enc))
            masks.append(enc["score_mask"])
        if self.uses_images:
            tokens, mask = self._visual_tokens(queries)
            parts.append(tokens)
            masks.append(mask)
        return torch.cat(parts, dim=1), torch.cat(masks, dim=1)

    def _docs(self, passages: list[Passage]) -> tuple[torch.Tensor, torch.Tensor]:
        enc = self._tokenize([passage_text(p) for p in passages], self.d_marker, int(self.params["doc_maxlen"]), False)
        mask = enc["attention_mask"].bool()
        if self.params.get("mask_punctuation", True):
            mask &= ~torch.isin(enc["input_ids"], self.punct_ids.to(self.device))
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.mapping_only):
            return self._text_tokens(enc), mask

    def loss(self, queries: list[Query], positives: list[Passage], negatives: list[Passage]) -> torch.Tensor:
        q, q_mask = self._queries(queries)
        # under torchrun every rank's passages are this rank's negatives too (harness/distributed/in_batch.py)
        (d, d_mask), start = gather_rows(self._docs(positives + negatives))
        return in_batch_loss(maxsim(q, d, d_mask, q_mask), start)

    @torch.no_grad()
    def _encode(self, fn, items: list, batch_size: int) -> MultiVectorEmbeddings:
        was_training = self.training
        self.eval()
        chunks, lengths = [], []
        for batch in batched(items, batch_size):
            tokens, mask = fn(batch)
            for t, m in zip(tokens, mask):
                kept = t[m].float().cpu().numpy()
                chunks.append(kept)
                lengths.append(len(kept))
        self.train(was_training)
        dim = int(self.params["dim"])
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        tokens = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0, dim), np.float32)
        return MultiVectorEmbeddings(tokens, offsets)

    def encode_queries(self, queries: list[Query], batch_size: int | None = None) -> MultiVectorEmbeddings:
        return self._encode(self._queries, queries, batch_size or int(self.params["encode_batch_size"]))

    def encode_passages(self, passages: list[Passage], batch_size: int | None = None) -> MultiVectorEmbeddings:
        return self._encode(self._docs, passages, batch_size or int(self.params["encode_batch_size"]))
