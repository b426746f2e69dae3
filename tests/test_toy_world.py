import hashlib
import json
from pathlib import Path

from harness.data.schema import Dataset
from harness.data.toy_images import COLOURS, SHAPES, TEXTURES
from harness.data.toy_world import ToyConfig, generate_toy_world
from harness.metrics.retrieval import clean_answers, hit_text, holds_answer

from conftest import SMALL_WORLD


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files(toy_dir, tmp_path):
    again = tmp_path / "again"
    generate_toy_world(again, SMALL_WORLD)
    assert _digest(again) == _digest(toy_dir)
    other = tmp_path / "other"
    generate_toy_world(other, ToyConfig(**{**SMALL_WORLD.__dict__, "seed": 6}))
    assert _digest(other)["corpus.jsonl"] != _digest(toy_dir)["corpus.jsonl"]


def test_world_promises(toy_dir):
    ds = Dataset(toy_dir)
    cfg = SMALL_WORLD
    kinds = [p for p in ds.corpus if p.pid.startswith("k")]
    distractors = [p for p in ds.corpus if p.pid.startswith("d")]
    assert len(kinds) == cfg.n_kinds and len(distractors) >= 5 * len(kinds)
    assert cfg.n_kinds <= len(SHAPES) * len(COLOURS) * len(TEXTURES)
    assert {q.split for q in ds.queries} == {"train", "val", "test"}
    texts = {p.pid: hit_text(p) for p in ds.corpus}
    for q in ds.queries:
        (gold,) = ds.qrels[q.split][q.qid]
        answers = clean_answers(q.answers)
        holders = [pid for pid, t in texts.items() if holds_answer(t, answers)]
        assert holders == [gold], "an answer must occur in the right passage only"
        assert 1 <= len(q.rois) <= cfg.max_objects and q.image.is_file()


def test_captions_leave_out_attributes_at_the_set_rate(tmp_path):
    cfg = ToyConfig(seed=3, n_kinds=20, n_train=300, n_val=10, n_test=10, image_size=48, drop_colour=0.5,
                    drop_texture=0.0)
    generate_toy_world(tmp_path / "w", cfg)
    rows = [json.loads(x) for x in (tmp_path / "w" / "queries.jsonl").read_text().splitlines()]
    captions = [r["vision_text"].split(" objects:")[0] for r in rows]
    phrases = [p for c in captions for p in c.removeprefix("caption: a picture of ").rstrip(".").split(" and ")]
    with_colour = sum(any(f" {c} " in f" {p} " for c in COLOURS) for p in phrases) / len(phrases)
    with_texture = sum(any(f" {t} " in f" {p} " for t in TEXTURES) for p in phrases) / len(phrases)
    assert 0.4 < with_colour < 0.6 and with_texture == 1.0


def test_the_noisy_detector_changes_only_the_regions(toy_dir, tmp_path):
    """Same images, questions and corpus; boxes moved, relabelled or missed at the stated rates."""
    noisy = tmp_path / "noisy"
    generate_toy_world(noisy, ToyConfig(**{**SMALL_WORLD.__dict__, "detector": "noisy"}))
    a, b = _digest(toy_dir), _digest(noisy)
    assert a["corpus.jsonl"] == b["corpus.jsonl"] and a["queries.jsonl"] != b["queries.jsonl"]
    assert {k: v for k, v in a.items() if k.startswith("images/")} == {k: v for k, v in b.items() if k.startswith("images/")}
    perfect, found = Dataset(toy_dir).queries, {q.qid: q for q in Dataset(noisy).queries}
    drawn = sum(len(q.rois) for q in perfect)
    kept = sum(len(found[q.qid].rois) for q in perfect)
    assert 0.6 * drawn < kept < 0.9 * drawn  # about a quarter missed
    assert all(q.text == found[q.qid].text and q.vision_text == found[q.qid].vision_text for q in perfect)
    moved = [(p, n) for q in perfect for p, n in zip(q.rois, found[q.qid].rois)]
    assert any(p.label != n.label for p, n in moved) and any(p.x0 != n.x0 for p, n in moved)
