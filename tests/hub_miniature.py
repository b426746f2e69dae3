"""A miniature of what the okvqa_gs pipeline fetches from the hub, in the hub's own layouts (made up here, nothing
copied): a mirror folder <repo id>/<commit>/ (harness/hub.py, $FLMR_BENCH_HUB_MIRROR) holding

- BByrneLab/OKVQA_FLMR_preprocessed_data: data/{train,test}-*.parquet with the published columns (question_id,
  question, answers, gold_answer, img_path, img_key (int64), img_caption, objects, img_ocr, ROIs, pos_item_ids, ...);
- BByrneLab/OKVQA_FLMR_preprocessed_GoogleSearch_passages: data/{train,valid,test}_passages-*.parquet
  (passage_id, passage_content);
- tiny random-init models saved as the hub holds them: bert-base-uncased (a BertModel), colbert-ir/colbertv2.0
  (`bert.*` + `linear.weight`, architectures HF_ColBERT), openai/clip-vit-base-patch32 (a whole CLIPModel, 224-pixel
  images in 32-pixel patches, with the published preprocessor config), Salesforce/blip2-flan-t5-xl (a
  Blip2ForConditionalGeneration with a T5 language model);

and COCO image folders coco/{train2014,val2014}/COCO_<split>_<12-digit id>.jpg."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from PIL import Image

DATA_REPO = "BByrneLab/OKVQA_FLMR_preprocessed_data"
PASSAGES_REPO = "BByrneLab/OKVQA_FLMR_preprocessed_GoogleSearch_passages"
BERT, COLBERT = "bert-base-uncased", "colbert-ir/colbertv2.0"
CLIP, BLIP2 = "openai/clip-vit-base-patch32", "Salesforce/blip2-flan-t5-xl"
# what CLIP ViT-B/32's published preprocessor_config.json says (values of the public configuration)
CLIP_PREPROCESSOR = {"crop_size": 224, "do_center_crop": True, "do_normalize": True, "do_resize": True,
                     "feature_extractor_type": "CLIPFeatureExtractor",
                     "image_mean": [0.48145466, 0.4578275, 0.40821073],
                     "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": 224}

TOPICS = [("frisbee", "ultimate", "disc"), ("giraffe", "acacia", "animal"), ("pizza", "mozzarella", "food"),
          ("tennis", "racket", "court"), ("sailboat", "harbor", "boat"), ("train", "station", "rail"),
          ("kite", "wind", "sky"), ("horse", "stable", "farm")]


def fake_sha(name: str) -> str:
    import hashlib

    return hashlib.sha1(name.encode()).hexdigest()


def _tokenizer():
    from transformers import AutoTokenizer

    from harness.backbones import minilm_path

    return AutoTokenizer.from_pretrained(str(minilm_path()))


def _bert_config(**extra):
    from transformers import BertConfig

    return BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=512, **extra)


def write_bert(folder: Path, seed: int = 1) -> Path:
    from transformers import BertModel

    torch.manual_seed(seed)
    BertModel(_bert_config()).save_pretrained(str(folder))
    _tokenizer().save_pretrained(str(folder))
    return folder


def write_colbert(folder: Path, dim: int = 128, seed: int = 2) -> dict[str, torch.Tensor]:
    """ColBERTv2's layout: one safetensors file of `bert.*` weights and the `linear.weight` projection."""
    from safetensors.torch import save_file
    from transformers import BertModel

    torch.manual_seed(seed)
    bert = BertModel(_bert_config(), add_pooling_layer=False)
    state = {f"bert.{k}": v.contiguous() for k, v in bert.state_dict().items()}
    state["linear.weight"] = torch.randn(dim, 32)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config = _bert_config(architectures=["HF_ColBERT"]).to_dict()
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    _tokenizer().save_pretrained(str(folder))
    return state


def write_clip(folder: Path, seed: int = 3) -> dict[str, torch.Tensor]:
    """A whole CLIPModel (text and vision towers) with the published preprocessing, as the hub repo holds it."""
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(seed)
    config = CLIPConfig(text_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                                     "num_attention_heads": 2, "vocab_size": 99},
                        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                                       "num_attention_heads": 2, "image_size": 224, "patch_size": 32},
                        projection_dim=16)
    model = CLIPModel(config)
    model.save_pretrained(str(folder))
    (folder / "preprocessor_config.json").write_text(json.dumps(CLIP_PREPROCESSOR, indent=2))
    return {k: v.clone() for k, v in model.state_dict().items()}


def write_blip2(folder: Path, seed: int = 4) -> Path:
    from transformers import Blip2ForConditionalGeneration

    from harness.reader.blip2 import _tiny_config

    torch.manual_seed(seed)
    tok = _tokenizer()
    Blip2ForConditionalGeneration(_tiny_config(tok, {})).save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return folder


def _question_rows(split: str, ids: range, coco: str) -> list[dict]:
    rows = []
    for i in ids:
        topic, answer, label = TOPICS[i % len(TOPICS)]
        img = 1000 + i
        rows.append({
            "question_id": f"{img}{i % 3}", "question": f"What is usually seen with this {label} number {i}?",
            "answers": [answer] * 6 + [topic] * 4, "gold_answer": answer,
            "img_path": f"/datasets/coco/{coco}/COCO_{coco}_{img:012d}.jpg", "img_key_full": f"COCO_{coco}_{img:012d}",
            "img_key": img, "img_file_name": f"COCO_{coco}_{img:012d}.jpg",
            "img_caption": {"caption": f"a photo of a {topic}", "conf": 0.9},
            "objects": [{"attribute_scores": [0.9, 0.3], "attributes": ["red", "small"], "class": label,
                         "ocr": [], "rect": [2.0, 3.0, 20.0, 24.0]}],
            "img_ocr": [{"description": topic.upper(), "vertices": [[0, 0], [5, 0], [5, 5], [0, 5]]}],
            "ROIs": [f"{img}|||{label}|||2.0,3.0,20.0,24.0"],
            "pos_item_ids": [f"gs_{i % len(TOPICS)}_0", f"gs_{i % len(TOPICS)}_1"],
            "pos_item_contents": [f"{topic} goes with {answer}."],
        })
    return rows


def _passages() -> list[dict]:
    rows = []
    for t, (topic, answer, label) in enumerate(TOPICS):
        rows.append({"passage_id": f"gs_{t}_0", "passage_content": f"title: {topic} content: a {topic} goes with "
                                                                  f"{answer} in most places."})
        rows.append({"passage_id": f"gs_{t}_1", "passage_content": f"title: {label} content: people link the {label} "
                                                                  f"and the {topic} with {answer}."})
        rows.append({"passage_id": f"gs_{t}_2", "passage_content": f"title: {label} facts content: a {label} is "
                                                                  "common in photographs."})
    return rows


def _parquet(rows: list[dict], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def write_images(coco: Path, split: str, ids: range) -> None:
    (coco / split).mkdir(parents=True, exist_ok=True)
    for i in ids:
        img = 1000 + i
        colour = tuple(int(c) for c in torch.randint(0, 255, (3,), generator=torch.Generator().manual_seed(img)))
        Image.new("RGB", (48, 40), colour).save(coco / split / f"COCO_{split}_{img:012d}.jpg")


TRAIN_IDS, TEST_IDS = range(0, 24), range(100, 112)


def build_mirror(mirror: Path, pins: dict[str, str]) -> dict[str, int]:
    """Every repository the okvqa_gs pipeline names, at the commit `pins` gives it. Returns the row counts."""
    def at(repo: str) -> Path:
        return mirror / repo / pins[repo]

    train, test = _question_rows("train", TRAIN_IDS, "train2014"), _question_rows("test", TEST_IDS, "val2014")
    _parquet(train, at(DATA_REPO) / "data" / "train-00000-of-00001.parquet")
    _parquet(test, at(DATA_REPO) / "data" / "test-00000-of-00001.parquet")
    passages = _passages()
    for split in ("train_passages", "valid_passages", "test_passages"):
        _parquet(passages, at(PASSAGES_REPO) / "data" / f"{split}-00000-of-00001.parquet")
    (at(PASSAGES_REPO) / "README.md").write_text("miniature\n")
    write_bert(at(BERT))
    write_colbert(at(COLBERT))
    write_clip(at(CLIP))
    write_blip2(at(BLIP2))
    return {"train": len(train), "test": len(test), "passages": len(passages)}
