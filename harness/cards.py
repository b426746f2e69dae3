"""Dataset cards name the code that reads their data. `datasets/<name>/card.yaml` holds

    loader:
      dataset.source: okvqa                            # the params field, and the value that chooses this card
      function: harness.data.okvqa.build:build_okvqa   # the builder (or corpus loader) it runs

The registries of dataset builders (`dataset.source`) and corpus loaders (`dataset.corpus.name`) take their
entries from the cards, so a dataset or corpus is added in its card and its own module. `harness/code_deps.py`
reads a call of `card_entries(<field>)` as importing the modules the cards name for that field, so each stage's
DVC dependencies still list the loaders' code, and `harness/dvcfile.py` makes the chosen cards dependencies of the stage that reads them."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from harness.code_deps import ROOT
from harness.errors import InputError

CARDS_DIR = "datasets"
FIELDS = ("dataset.source", "dataset.corpus.name")  # the params fields a card's loader may answer to
FUNCTION = re.compile(r"^(?:harness|methods)(?:\.\w+)+:\w+$")


@lru_cache(maxsize=None)
def _loaders(root: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(field, name) -> (module:function, the card's path) for every card with a loader."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for card in sorted((root / CARDS_DIR).glob("*/card.yaml")):
        where = card.relative_to(root).as_posix()
        spec = yaml.safe_load(card.read_text(encoding="utf-8"))
        loader = spec.get("loader") if isinstance(spec, dict) else None
        if loader is None:
            continue
        chosen_by = [k for k in loader if k in FIELDS] if isinstance(loader, dict) else []
        if (len(chosen_by) != 1 or set(loader) != {chosen_by[0], "function"}
                or not FUNCTION.match(str(loader["function"]))):
            raise InputError(where, "loader", f"must be {{<one of {', '.join(FIELDS)}>: <name>, function: "
                                              f"<module>:<function>}}, got {loader!r}")
        key = (chosen_by[0], str(loader[chosen_by[0]]))
        if key in out:
            raise InputError(where, f"loader.{key[0]}", f"{key[1]!r} is chosen by {out[key][1]} already")
        out[key] = (str(loader["function"]), where)
    return out


def card_entries(field: str, root: Path = ROOT) -> dict[str, str]:
    """name -> module:function of every card whose loader the params field `field` chooses."""
    return {name: fn for (f, name), (fn, _) in _loaders(root).items() if f == field}


def loader_modules(root: Path = ROOT, field: str | None = None) -> set[str]:
    """The modules the cards name for `field` (every field: None): the imports a call of `card_entries(field)`
    stands for (harness/code_deps.py)."""
    return {fn.partition(":")[0] for (f, _), (fn, _) in _loaders(root).items() if field in (None, f)}


def chosen_cards(params: dict[str, Any], root: Path = ROOT,
                 fields: tuple[str, ...] = ("dataset.source", "dataset.corpus.name")) -> list[str]:
    """The cards whose loaders the params choose for `fields`: the dataset's source and its corpus (where a card
    names them)."""
    ds = params.get("dataset", {})
    names = {"dataset.source": ds.get("source"), "dataset.corpus.name": ds.get("corpus", {}).get("name")}
    chosen = [(f, names[f]) for f in fields]
    loaders = _loaders(root)
    return [loaders[(f, str(n))][1] for f, n in chosen if (f, str(n)) in loaders]
