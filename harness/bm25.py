"""BM25 (bm25s) over passages: the one place the harness tokenises for BM25, shared by hard-negative mining,
pseudo-relevance qrels and the BM25 method. English stopwords and the Porter stemmer, the defaults of Lucene and
pyserini (the usual BM25 reference), for passages and queries alike."""

from __future__ import annotations

from pathlib import Path

import bm25s
import Stemmer
from bm25s.tokenization import Tokenized

from harness.api import Passage, Query
from harness.text import passage_text, query_text


STEMMER = Stemmer.Stemmer("porter")


def tokenize(texts: list[str]) -> Tokenized:
    """bm25s numbers stems in Python set order, which changes with each process's hash seed and so changes the
    saved index's bytes; renumbering in sorted order makes the same texts give the same index everywhere."""
    raw = bm25s.tokenize(texts, stopwords="en", stemmer=STEMMER, show_progress=False)
    stems = sorted(raw.vocab)
    renumber = {raw.vocab[stem]: i for i, stem in enumerate(stems)}
    return Tokenized(ids=[[renumber[i] for i in doc] for doc in raw.ids],
                     vocab={stem: i for i, stem in enumerate(stems)})


def build(texts: list[str], k1: float = 1.5, b: float = 0.75) -> bm25s.BM25:
    retriever = bm25s.BM25(k1=k1, b=b)
    retriever.index(tokenize(texts), show_progress=False)
    return retriever


def search(retriever: bm25s.BM25, texts: list[str], k: int) -> tuple[list[list[int]], list[list[float]]]:
    docs, scores = retriever.retrieve(tokenize(texts), k=k, show_progress=False)
    return [[int(i) for i in row] for row in docs], [[float(s) for s in row] for row in scores]


def bm25_top(queries: list[Query], corpus: list[Passage], depth: int) -> list[list[int]]:
    """Corpus positions of each query's top `depth` passages (question + text-based vision)."""
    docs, _ = search(build([passage_text(p) for p in corpus]), [query_text(q) for q in queries],
                     min(depth, len(corpus)))
    return docs


def save(retriever: bm25s.BM25, folder: Path) -> None:
    retriever.save(str(folder))


def load(folder: Path) -> bm25s.BM25:
    return bm25s.BM25.load(str(folder))
