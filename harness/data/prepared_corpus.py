"""Named corpora (those a card's loader reads: wiki_vital, okvqa_gs, okvqa_wiki, psgs_w100, ...) are prepared once,
by the `prepare-corpus` stage, into data/corpora/<name>/ {corpus.jsonl, manifest.json, corpus_urls.tsv where the
source gives urls}; every dataset build pairing its questions with one reads it from there (qrels, coverage) and
writes no copy. A corpus of the dataset's own (a generated world, FVQA's facts, a folder) stays in its folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.params import params_file
from harness.api import Passage
from harness.atomic import atomic_dir, write_json
from harness.data.schema import named_corpus_dir, read_corpus, write_corpus
from harness.errors import InputError


def shared_corpus(params: dict[str, Any]) -> str | None:
    """The named corpus the dataset reads, or None where the corpus is the dataset's own."""
    from harness.data.corpora import LOADERS

    name = (params["dataset"].get("corpus") or {}).get("name")
    return str(name) if name in LOADERS.names else None


def prepare_corpus(params: dict[str, Any], out: Path) -> dict[str, Any]:
    from harness.data.corpora import load_corpus

    name = shared_corpus(params)
    if name is None:
        raise InputError(params_file(params), "dataset.corpus.name", "names no corpus a card loads: the "
                         "dataset's build writes its own corpus (prepare)")
    settings = params["dataset"]["corpus"]
    passages, info = load_corpus(settings, Path.cwd(), params_file(params))
    if settings.get("limit"):
        passages = passages[: int(settings["limit"])]
    urls = info.pop("urls", None)
    with atomic_dir(out) as tmp:
        write_corpus(tmp / "corpus.jsonl", passages)
        if urls:  # where each passage was found (the harness reads title and text only)
            (tmp / "corpus_urls.tsv").write_text("".join(f"{p.pid}\t{urls.get(p.pid, '')}\n" for p in passages),
                                                 encoding="utf-8")
        write_json(tmp / "manifest.json", {**info, "passages": len(passages)})
    read_corpus(out / "corpus.jsonl")  # read back: a malformed corpus fails here
    return {"corpus": name, "passages": len(passages)}


def read_prepared(params: dict[str, Any], dataset_out: Path) -> tuple[list[Passage], dict[str, Any]]:
    """The named corpus the dataset written to `dataset_out` reads (corpora/<name>/ beside it): its passages and
    what its loader read (for the dataset's manifest, `passages` aside)."""
    folder = named_corpus_dir(dataset_out, str(shared_corpus(params)))
    if not (folder / "manifest.json").is_file():
        raise InputError(folder, "-", "corpus not prepared: run `python -m harness prepare-corpus` first "
                                      "(dvc repro runs it)")
    info = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    info.pop("passages", None)
    return read_corpus(folder / "corpus.jsonl"), info
