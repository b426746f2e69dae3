"""The shared vocabulary: queries, passages, embeddings, runs, and the protocols a method implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

# A run maps query id -> {passage id: score}; the TREC run file is its on-disk form.
Run = dict[str, dict[str, float]]


@dataclass(frozen=True)
class Box:
    """A region of the image in pixels (x0, y0, x1, y1) with its detected class."""

    x0: float
    y0: float
    x1: float
    y1: float
    label: str = ""
    score: float = 1.0

    @property
    def area(self) -> float:
        return max(0.0, self.x1 - self.x0) * max(0.0, self.y1 - self.y0)


@dataclass(frozen=True)
class Query:
    qid: str
    text: str
    image: Path | None
    answers: tuple[str, ...]
    split: str = "test"
    vision_text: str | None = None  # caption, objects, OCR ("text-based vision")
    rois: tuple[Box, ...] = ()  # region boxes for "feature-based vision"


@dataclass(frozen=True)
class Passage:
    pid: str
    title: str
    text: str


@dataclass
class DenseEmbeddings:
    """One vector per item: float32 [N, d]."""

    vectors: np.ndarray

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def select(self, rows: list[int]) -> "DenseEmbeddings":
        return DenseEmbeddings(self.vectors[np.asarray(rows, dtype=np.int64)])


@dataclass
class MultiVectorEmbeddings:
    """Token vectors of N items packed into one matrix [T, d]; item i owns rows offsets[i]:offsets[i+1]."""

    tokens: np.ndarray
    offsets: np.ndarray

    def __len__(self) -> int:
        return int(self.offsets.shape[0] - 1)

    def item(self, i: int) -> np.ndarray:
        return self.tokens[self.offsets[i] : self.offsets[i + 1]]

    def select(self, rows: list[int]) -> "MultiVectorEmbeddings":
        parts = [self.item(i) for i in rows]
        lengths = np.array([len(x) for x in parts], dtype=self.offsets.dtype)
        tokens = np.concatenate(parts) if parts else self.tokens[:0]
        return MultiVectorEmbeddings(tokens, np.concatenate([[0], np.cumsum(lengths)]).astype(self.offsets.dtype))


@dataclass
class TextEmbeddings:
    """Sparse (lexical) methods 'encode' to the analysed text itself; their index does the weighting."""

    texts: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def select(self, rows: list[int]) -> "TextEmbeddings":
        return TextEmbeddings([self.texts[i] for i in rows])


Embeddings = DenseEmbeddings | MultiVectorEmbeddings | TextEmbeddings


@dataclass(frozen=True)
class MethodSpec:
    """What `methods/<name>/method.py` declares as `METHOD`."""

    name: str
    target: str  # "module:Class" of the Retriever
    family: str  # "dense" | "late-interaction" | "sparse"
    modalities: tuple[str, ...] = ("text",)
    description: str = ""
    folder: Path | None = None


@dataclass
class IndexStats:
    backend: str
    vectors: int
    items: int
    dim: int
    bytes_on_disk: int
    build_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bytes_per_vector(self) -> float:
        return self.bytes_on_disk / max(1, self.vectors)

    @property
    def bytes_per_item(self) -> float:
        return self.bytes_on_disk / max(1, self.items)


@runtime_checkable
class Retriever(Protocol):
    """A retriever: what every stage calls on the class a method's `MethodSpec.target` names. It is a
    `torch.nn.Module` (the shared loop in `harness.train` drives `loss`, `parameters`, `state_dict`, `train`/`eval`
    and `to`), made by `create` in the train stage and by `load` in every later one. Optional: `trainable = False`
    (saved as created, e.g. BM25), and `phases()` / `set_phase(name)` for training phases before fine-tuning
    (FLMR's mapping-network pre-training). tests/test_method_conformance.py checks every method folder."""

    family: str
    params: dict[str, Any]  # the method params it was made with (the run's, merged onto its params.yaml)

    @classmethod
    def create(cls, params: dict[str, Any], seed: int) -> "Retriever": ...

    @classmethod
    def load(cls, model_dir: Path, device: str = "cpu") -> "Retriever": ...

    def save(self, out_dir: Path) -> None: ...

    def loss(self, queries: list[Query], positives: list[Passage], negatives: list[Passage]) -> Any: ...

    def encode_queries(self, queries: list[Query], batch_size: int = 32) -> Embeddings: ...

    def encode_passages(self, passages: list[Passage], batch_size: int = 32) -> Embeddings: ...


@runtime_checkable
class Reader(Protocol):
    """A VQA reader (harness/reader/, chosen by `reader.backbone.kind`): a `torch.nn.Module` trained by the same
    loop on `loss`, then asked to `answer` from each question's top-K passages. `per_passage`: one input per
    passage, answers chosen by joint score (RA-VQA), else all K in one input."""

    params: dict[str, Any]
    per_passage: bool

    @classmethod
    def create(cls, params: dict[str, Any], seed: int) -> "Reader": ...

    @classmethod
    def load(cls, model_dir: Path, device: str = "cpu") -> "Reader": ...

    def save(self, out_dir: Path) -> None: ...

    def loss(self, queries: list[Query], positives: list[Passage], negatives: list[Passage]) -> Any: ...

    def answer(self, queries: list[Query], contexts: dict[str, list[Passage]],
               scores: dict[str, list[float]] | None = None, batch_size: int = 32) -> dict[str, str]: ...


class Index(Protocol):
    """Chosen by params, not by the method."""

    def build(self, emb: Embeddings, ids: list[str], out_dir: Path) -> IndexStats: ...

    def search(self, q: Embeddings, qids: list[str], k: int) -> Run: ...
