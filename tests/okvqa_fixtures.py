"""Tiny OK-VQA sources written in each source's exact schema (made up here, nothing copied): the official files,
a local folder with LXMERT labels and community features, and the hub's parquet layout."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

CORPUS = [
    {"_id": "p1", "title": "Frisbee", "text": "A frisbee is a disc thrown in the game of ultimate."},
    {"_id": "p2", "title": "Giraffe", "text": "The giraffe eats leaves from acacia trees in africa."},
    {"_id": "p3", "title": "Pizza", "text": "Pizza is baked in an oven; mozzarella is the usual cheese."},
    {"_id": "p4", "title": "Tennis", "text": "Tennis is played with a racket on a grass or clay court."},
    {"_id": "p5", "title": "Boat", "text": "A sailboat moves by wind; boats are kept in a harbor."},
]

# (question_id, image_id, question, label {answer: score}) for train2014 and val2014
TRAIN = [(1001, 11, "What game uses this disc?", {"ultimate": 1, "frisbee": 0.667}),
         (1002, 12, "What does this animal eat?", {"leaves": 1, "acacia": 0.667}),
         (1003, 12, "Where does this animal live?", {"africa": 1}),
         (1004, 13, "What cheese is on this?", {"mozzarella": 1}),
         (1005, 14, "What sport is this?", {"tennis": 1}),
         (1006, 15, "Where are these kept?", {"harbor": 1, "marina": 0.667}),
         (1007, 16, "What is this unlabelled one?", {}),   # no answers: a counted skip
         (1008, 17, "What powers it?", {"wind": 1})]
TEST = [(2001, 21, "What is the disc called?", {"frisbee": 1}),
        (2002, 22, "Which court surface?", {"clay": 1, "grass": 0.667}),
        (2003, 23, "What is it baked in?", {"oven": 1}),
        (2004, 24, "No labels row for this one?", None)]   # absent from the labels: a counted skip


def write_image(path: Path, colour: tuple[int, int, int] = (200, 30, 30)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 24), colour).save(path, format="JPEG")


def _questions(rows: list[tuple], subtype: str) -> dict:
    return {"license": {"name": "CC BY 4.0"}, "data_subtype": subtype, "task_type": "Open-Ended",
            "info": {"version": "1.0"}, "data_type": "mscoco",
            "questions": [{"image_id": img, "question": q, "question_id": qid} for qid, img, q, _ in rows]}


def write_local_folder(root: Path) -> Path:
    """The layout of ../shared/data: official questions, LXMERT labels, caption TSV, detections, COCO JPEGs."""
    (root / "okvqa").mkdir(parents=True)
    (root / "okvqa_text_features").mkdir()
    for rows, split, name in ((TRAIN, "train2014", "lxmert_okvqa_train2014.json"),
                              (TEST, "val2014", "lxmert_okvqa_val2014_testdev.json")):
        (root / "okvqa" / f"OpenEnded_mscoco_{split}_questions.json").write_text(json.dumps(_questions(rows, split)))
        labels = [{"sent": q, "question_id": qid, "label": lab, "class": 1, "img_id": f"COCO_{split}_{img:012d}"}
                  for qid, img, q, lab in rows if lab is not None]
        (root / "okvqa" / name).write_text(json.dumps(labels))
    captions = {21: "a red disc on the grass.", 22: "a tennis court.", 23: "a pizza on a table."}
    (root / "okvqa_text_features" / "captions.tsv").write_text(
        "".join(f"{img}\t{json.dumps([{'caption': c, 'conf': 0.9}])}\n" for img, c in captions.items()))
    (root / "okvqa_text_features" / "det_train.json").write_text(json.dumps(
        {str(qid): {"question": q.lower(), "detections": ["person", "grass"]} for qid, _, q, _ in TRAIN}))
    (root / "okvqa_text_features" / "det_val.json").write_text(json.dumps(
        {str(img): {"question": q, "detections": ["disc", "dog"]} for _, img, q, _ in TEST}))
    write_image(root / "images" / "COCO_val2014_000000000021.jpg")
    (root / "images" / "COCO_val2014_000000000022.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


LOCAL_SETTINGS = {
    "source": "files",
    "questions": {"train": "okvqa/OpenEnded_mscoco_train2014_questions.json",
                  "test": "okvqa/OpenEnded_mscoco_val2014_questions.json"},
    "labels": {"train": "okvqa/lxmert_okvqa_train2014.json", "test": "okvqa/lxmert_okvqa_val2014_testdev.json"},
    "labels_format": "lxmert",
    "captions": {"test": "okvqa_text_features/captions.tsv"},
    "detections": {"train": {"file": "okvqa_text_features/det_train.json", "key": "question"},
                   "test": {"file": "okvqa_text_features/det_val.json", "key": "image"}},
    "images": {"test": "images"},
    "val_size": 2,
}


def write_official(root: Path) -> Path:
    """The official release: question files plus mscoco_*_annotations.json with ten answers each."""
    root.mkdir(parents=True)
    for rows, split in ((TRAIN, "train2014"), (TEST, "val2014")):
        (root / f"OpenEnded_mscoco_{split}_questions.json").write_text(json.dumps(_questions(rows, split)))
        anns = []
        for qid, img, _, lab in rows:
            if lab is None:
                continue
            answers = [a for a, s in lab.items() for _ in range(4 if s == 1 else 2)]
            answers = (answers + [""] * 10)[:10] if answers else [""] * 10
            anns.append({"question_id": qid, "image_id": img, "question_type": "eight", "answer_type": "other",
                         "confidence": 3, "answers": [{"answer": a, "raw_answer": a, "answer_confidence": "yes",
                                                       "answer_id": i + 1} for i, a in enumerate(answers)]})
        (root / f"mscoco_{split}_annotations.json").write_text(json.dumps({"annotations": anns, "info": {}}))
    return root


OFFICIAL_SETTINGS = {
    "source": "files",
    "questions": {"train": "OpenEnded_mscoco_train2014_questions.json", "test": "OpenEnded_mscoco_val2014_questions.json"},
    "labels": {"train": "mscoco_train2014_annotations.json", "test": "mscoco_val2014_annotations.json"},
    "labels_format": "official",
    "val_size": 2,
}


def hub_rows(rows: list[tuple], split: str) -> list[dict]:
    out = []
    for qid, img, q, lab in rows:
        answers = [a for a, s in (lab or {}).items() for _ in range(4 if s == 1 else 2)]
        out.append({"question_id": str(qid), "question": q, "answers": answers,
                    "gold_answer": answers[0] if answers else "",
                    "img_path": f"/coco/{split}/COCO_{split}_{img:012d}.jpg", "img_key": str(img), "img_id": str(img),
                    "img_caption": {"caption": f"a photo {img}", "conf": 0.8},
                    "objects": [{"class": "disc", "rect": [1.0, 2.0, 20.0, 22.0], "attributes": ["red", "round", "flat", "new"],
                                 "attribute_scores": [0.9, 0.5, 0.01, 0.4]}],
                    "img_ocr": [{"description": "WHAM-O\n"}, {"description": "WHAM-O\n"}],
                    "pos_item_ids": ["p1"] if qid == 1001 else []})
    return out


def write_hub_folder(root: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / "data").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(hub_rows(TRAIN, "train2014")), root / "data" / "train-00000-of-00001.parquet")
    pq.write_table(pa.Table.from_pylist(hub_rows(TEST, "val2014")), root / "data" / "test-00000-of-00001.parquet")
    return root


def write_corpus(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in CORPUS))
    return path


def build_with_corpus(params: dict, out: Path) -> dict:
    """prepare-corpus, then the dataset build, as the DVC stages run them (the corpus in corpora/ beside `out`)."""
    from harness.data.okvqa.build import build_okvqa
    from harness.data.prepared_corpus import prepare_corpus
    from harness.data.schema import named_corpus_dir

    prepare_corpus(params, named_corpus_dir(out, params["dataset"]["corpus"]["name"]))
    return build_okvqa(params, out)
