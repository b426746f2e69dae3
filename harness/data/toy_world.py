"""The toy world: a generated knowledge-based VQA dataset in which every part of FLMR has work to do.

Each *kind* of object is fixed by shape x colour x texture and has a passage of facts (what it eats, where it
lives, ...). Distractor passages describe look-alike objects that are not kinds, with decoy facts, in the same
words, so word overlap alone cannot find the right passage. A question names a fact and (usually) the shape of
the object it asks about; the caption and object list ("text-based vision") leave out colour or texture in a set
fraction of cases, so the image (or its regions) is needed to tell look-alikes apart. Answers are made-up words
that occur in exactly one passage. Everything is deterministic from the seed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.api import Box, Passage, Query
from harness.atomic import atomic_dir, write_json
from harness.data.schema import write_corpus, write_qrels, write_queries
from harness.data.toy_images import COLOURS, SHAPES, TEXTURES, blank_canvas, draw_object
from harness.errors import InputError
from harness.metrics.retrieval import clean_answers, hit_text, holds_answer

# relation -> (passage sentence, question templates); {v} is the answer, {s} the shape.
RELATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "eats": ("It feeds mostly on {v}.", ("What does the {s} in the picture eat?", "What food does this {s} live on?")),
    "lives": ("It is usually found near {v}.", ("Where does the {s} shown here live?", "Near which place is this {s} found?")),
    "describer": ("It was first described by {v}.", ("Who first described the {s} in the image?", "Which explorer described this {s}?")),
    "use": ("People keep it for {v}.", ("What do people keep the {s} for?", "What is this {s} kept for?")),
    "sound": ("When touched it makes a {v} sound.", ("What sound does the {s} make?", "Which sound does this {s} make when touched?")),
}
_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "kl", "tr", "sk")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ou")
_CODAS = ("", "", "n", "r", "l", "x", "m")


@dataclass(frozen=True)
class ToyConfig:
    seed: int = 13
    n_kinds: int = 36
    distractors_per_kind: int = 6
    n_train: int = 720
    n_val: int = 120
    n_test: int = 240
    image_size: int = 96
    max_objects: int = 3
    drop_colour: float = 0.5
    drop_texture: float = 0.5
    name_shape: float = 0.85  # fraction of questions that name the shape they ask about
    heldout_kinds: float = 0.2  # kinds asked about only in val/test: retrieval must match looks, not memorise
    # the region detector: "perfect" (the drawn boxes, labelled with their true shape) or "noisy" (corners moved
    # by up to `detector_jitter` x the box side, a wrong shape label at `detector_wrong_label`, an object missed
    # at `detector_miss`). The noise has its own random stream: images, questions and corpus stay the same.
    detector: str = "perfect"
    detector_jitter: float = 0.25
    detector_wrong_label: float = 0.25
    detector_miss: float = 0.25


@dataclass(frozen=True)
class Kind:
    shape: str
    colour: str
    texture: str
    name: str
    facts: dict[str, str]

    @property
    def look(self) -> tuple[str, str, str]:
        return (self.shape, self.colour, self.texture)


def _pseudo_word(rng: np.random.Generator, syllables: int) -> str:
    parts = [str(rng.choice(_ONSETS)) + str(rng.choice(_VOWELS)) for _ in range(syllables)]
    return "".join(parts) + str(rng.choice(_CODAS))


def _describe(look: tuple[str, str, str]) -> str:
    shape, colour, texture = look
    return f"{colour} {texture} {shape}"


def _passage_text(name: str, look: tuple[str, str, str], facts: dict[str, str], rng: np.random.Generator) -> str:
    opening = str(rng.choice([
        "The {n} is a {d}.", "A {n} looks like a {d}.", "Travellers know the {n} as a {d}.",
    ])).format(n=name, d=_describe(look))
    sentences = [RELATIONS[r][0].format(v=v) for r, v in facts.items()]
    order = rng.permutation(len(sentences))
    return " ".join([opening] + [sentences[i] for i in order])


class ToyWorldGenerator:
    def __init__(self, cfg: ToyConfig):
        if cfg.n_kinds > len(SHAPES) * len(COLOURS) * len(TEXTURES) // 2:
            raise ValueError("n_kinds leaves too few look-alike combinations for distractors")
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        self.detector_rng = np.random.default_rng([cfg.seed, 0xDE7EC7])  # its own stream (see ToyConfig.detector)
        if cfg.detector not in ("perfect", "noisy"):
            raise InputError("params.yaml", "dataset.toy.detector", f"must be perfect or noisy, got {cfg.detector!r}")
        self._used_words: set[str] = set()

    def _fresh_word(self, syllables: int = 3) -> str:
        while True:
            w = _pseudo_word(self.rng, syllables)
            # No word may contain another: answers are matched as lower-cased substrings.
            if all(w not in u and u not in w for u in self._used_words):
                self._used_words.add(w)
                return w

    def kinds(self) -> list[Kind]:
        combos = list(itertools.product(SHAPES, COLOURS, TEXTURES))
        picked = self.rng.choice(len(combos), size=self.cfg.n_kinds, replace=False)
        return [Kind(*combos[i], name=self._fresh_word(2), facts={r: self._fresh_word(3) for r in RELATIONS})
                for i in sorted(picked)]

    def corpus(self, kinds: list[Kind]) -> tuple[list[Passage], dict[tuple[str, str, str], str]]:
        kind_looks = {k.look for k in kinds}
        passages: list[Passage] = []
        pid_of: dict[tuple[str, str, str], str] = {}
        for i, k in enumerate(kinds):
            pid = f"k{i:03d}"
            pid_of[k.look] = pid
            passages.append(Passage(pid, k.name, _passage_text(k.name, k.look, k.facts, self.rng)))
        n = 0
        for k in kinds:
            for _ in range(self.cfg.distractors_per_kind):
                look = self._near_miss(k.look, kind_looks)
                name = self._fresh_word(2)
                decoys = {r: self._fresh_word(3) for r in RELATIONS}
                passages.append(Passage(f"d{n:04d}", name, _passage_text(name, look, decoys, self.rng)))
                n += 1
        order = self.rng.permutation(len(passages))
        return [passages[i] for i in order], pid_of

    def _near_miss(self, look: tuple[str, str, str], kind_looks: set) -> tuple[str, str, str]:
        """A look-alike of `look` (one or two attributes changed) that is not itself a kind."""
        while True:
            new = list(look)
            for pos in self.rng.choice(3, size=int(self.rng.integers(1, 3)), replace=False):
                pool = (SHAPES, tuple(COLOURS), TEXTURES)[pos]
                new[pos] = str(self.rng.choice([x for x in pool if x != look[pos]]))
            if tuple(new) not in kind_looks:
                return tuple(new)

    def scene(self, target: Kind, kinds: list[Kind], qid: str, images_dir: Path) -> tuple[str, list[Kind], list[Box]]:
        """Draw the target and 0-2 other kinds of other shapes; return the image path, objects and boxes."""
        size = self.cfg.image_size
        n_obj = int(self.rng.integers(1, self.cfg.max_objects + 1))
        others = [k for k in kinds if k.shape != target.shape]
        objs = [target]
        while len(objs) < n_obj:
            cand = others[int(self.rng.integers(len(others)))]
            if all(cand.shape != o.shape for o in objs):
                objs.append(cand)
        cells = self.rng.permutation(4)[:n_obj]
        half = size // 2
        img = blank_canvas(size, self.rng)
        boxes = []
        for obj, cell in zip(objs, cells):
            side = int(self.rng.integers(int(half * 0.6), half - 2))
            x0 = (cell % 2) * half + int(self.rng.integers(0, half - side))
            y0 = (cell // 2) * half + int(self.rng.integers(0, half - side))
            draw_object(img, obj.shape, obj.colour, obj.texture, (x0, y0, x0 + side, y0 + side))
            boxes.append(Box(float(x0), float(y0), float(x0 + side), float(y0 + side), obj.shape, 1.0))
        rel = f"images/{qid}.png"
        img.save(images_dir / f"{qid}.png", format="PNG", optimize=False)
        return rel, objs, boxes

    def detect(self, boxes: list[Box]) -> list[Box]:
        """What the configured detector reports for the drawn boxes."""
        if self.cfg.detector == "perfect":
            return boxes
        rng, size, out = self.detector_rng, self.cfg.image_size, []
        for b in boxes:
            if rng.random() < self.cfg.detector_miss:
                continue
            side = b.x1 - b.x0
            x0, y0, x1, y1 = (float(np.clip(v + rng.uniform(-1, 1) * self.cfg.detector_jitter * side, 0, size))
                              for v in (b.x0, b.y0, b.x1, b.y1))
            x0, x1 = min(x0, x1), max(max(x0, x1), min(x0, x1) + 1)
            y0, y1 = min(y0, y1), max(max(y0, y1), min(y0, y1) + 1)
            label = b.label
            if rng.random() < self.cfg.detector_wrong_label:
                label = str(rng.choice([s for s in SHAPES if s != b.label]))
            out.append(Box(x0, y0, x1, y1, label, 1.0))
        return out

    def caption(self, objs: list[Kind]) -> str:
        """Caption and object list; colour and texture are left out at the configured rates."""
        phrases = []
        for o in objs:
            words = []
            if self.rng.random() >= self.cfg.drop_colour:
                words.append(o.colour)
            if self.rng.random() >= self.cfg.drop_texture:
                words.append(o.texture)
            words.append(o.shape)
            phrases.append(("an " if words[0][0] in "aeiou" else "a ") + " ".join(words))
        caption = "a picture of " + " and ".join(phrases) + "."
        return f"caption: {caption} objects: {', '.join(o.shape for o in objs)}"

    def question(self, target: Kind, n_objects: int) -> tuple[str, str]:
        rel = str(self.rng.choice(list(RELATIONS)))
        template = str(self.rng.choice(RELATIONS[rel][1]))
        shape = target.shape if (n_objects > 1 or self.rng.random() < self.cfg.name_shape) else "object"
        return template.format(s=shape), rel

    def generate(self, out_dir: Path) -> dict:
        kinds = self.kinds()
        passages, pid_of = self.corpus(kinds)
        queries: list[Query] = []
        qrels: dict[str, dict[str, dict[str, int]]] = {}
        with atomic_dir(out_dir) as tmp:
            (tmp / "images").mkdir()
            n_heldout = int(round(self.cfg.heldout_kinds * len(kinds)))
            heldout = set(int(i) for i in self.rng.choice(len(kinds), size=n_heldout, replace=False))
            seen = [k for i, k in enumerate(kinds) if i not in heldout]
            for split, count in (("train", self.cfg.n_train), ("val", self.cfg.n_val), ("test", self.cfg.n_test)):
                qrels[split] = {}
                pool = seen if split == "train" else kinds
                for j in range(count):
                    qid = f"{split}-{j:05d}"
                    target = pool[int(self.rng.integers(len(pool)))]
                    image, objs, boxes = self.scene(target, kinds, qid, tmp / "images")
                    text, rel = self.question(target, len(objs))
                    answer = target.facts[rel]
                    queries.append(Query(qid=qid, text=text, image=Path(image), answers=(answer,) * 10, split=split,
                                         vision_text=self.caption(objs), rois=tuple(self.detect(boxes))))
                    qrels[split][qid] = {pid_of[target.look]: 1}
            _check_answers_unique(queries, passages)
            write_queries(tmp / "queries.jsonl", queries)
            write_corpus(tmp / "corpus.jsonl", passages)
            for split, q in qrels.items():
                write_qrels(tmp / "qrels" / f"{split}.tsv", q)
            stats = {"kinds": len(kinds), "heldout_kinds": sorted(kinds[i].name for i in heldout),
                     "passages": len(passages), "queries": {s: len(q) for s, q in qrels.items()},
                     "config": self.cfg.__dict__}
            write_json(tmp / "world.json", stats)
        return stats


def _check_answers_unique(queries: list[Query], passages: list[Passage]) -> None:
    """Each answer must be held by exactly one passage under the hit rule: the world's core promise."""
    texts = [hit_text(p) for p in passages]
    for ans in {q.answers[0] for q in queries}:
        hits = sum(holds_answer(t, clean_answers([ans])) for t in texts)
        if hits != 1:
            raise AssertionError(f"toy world: answer {ans!r} occurs in {hits} passages")


def generate_toy_world(out_dir: str | Path, cfg: ToyConfig) -> dict:
    return ToyWorldGenerator(cfg).generate(Path(out_dir))


def build_toy(params: dict[str, Any], out_dir: Path) -> dict:
    """The prepare stage's builder for `dataset.source: toy` (settings under `dataset.toy`)."""
    return generate_toy_world(out_dir, ToyConfig(seed=params["data_seed"], **params["dataset"].get("toy", {})))
