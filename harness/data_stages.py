"""The data the pipelines read, prepared once per dataset. `datasets/dvc.yaml` (written by `python -m harness
pipelines`) holds a `fetch-<name>` and a `prepare-<name>` stage for each `dataset.name` the pipelines use, and
`prepare-<name>` writes `data/<name>/`; every pipeline naming that dataset reads that one folder, so a dataset is
downloaded, built and hashed once however many pipelines train or evaluate on it (`dvc repro` of a pipeline runs
them first where they are out of date). Pipelines sharing a name must prepare it alike (`dataset` and `data_seed`
equal); the stage runs with the params of the pipeline whose profile is the dataset's name, else the first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from harness import paths
from harness.errors import InputError

if TYPE_CHECKING:
    from harness.dvcfile import Pipeline

DATA_DVC = "datasets/dvc.yaml"
PREPARE_KEYS = ("data_seed", "dataset")  # what the prepared folder depends on


def first_difference(a: Any, b: Any, prefix: str) -> str | None:
    """The dotted name of the first setting where a and b differ (None: they are equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            found = first_difference(a.get(key), b.get(key), f"{prefix}.{key}")
            if found:
                return found
        return None
    return None if a == b else prefix


def owners(pipelines: list[tuple[Pipeline, dict[str, Any]]]) -> dict[str, tuple[Pipeline, dict[str, Any]]]:
    """dataset name -> the pipeline whose params prepare it; a pipeline preparing a shared name differently is
    one line naming its overrides file, the setting and the pipeline it differs from."""
    users: dict[str, list[tuple[Pipeline, dict[str, Any]]]] = {}
    for p, params in pipelines:
        users.setdefault(str(params["dataset"]["name"]), []).append((p, params))
    out = {}
    for name, found in sorted(users.items()):
        owner = next((u for u in found if u[1]["profile"] == name), found[0])
        for p, params in found:
            for key in PREPARE_KEYS:
                field = first_difference(params.get(key), owner[1].get(key), key)
                if field:
                    raise InputError(p.overrides_file or p.params_file, field,
                                     f"differs from pipeline {owner[0].name!r}, which prepares data/{name}/ too: "
                                     "set it alike or give this dataset another dataset.name")
        out[name] = owner
    return out


def _stages(p: Pipeline, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    from harness.cards import chosen_cards
    from harness.data.fetch import needed
    from harness.data.folder import card_file, source_folder
    from harness.dvcfile import code_files, uncached

    name = str(params["dataset"]["name"])
    cmd = "python -m harness" + ("" if p.overrides_file is None else f" --params {p.params_file}")
    fetch_out = str(paths.fetch_record(params))
    cards = sorted({str(card) for card, _ in needed(params)})  # what the download is checked against
    fetch_keys = ["dataset", "requires"] if "requires" in params else ["dataset"]
    # a folder dataset: the folder and its card are inputs DVC hashes (other sources record their inputs' sha256)
    folder = [str(source_folder(params)), str(card_file(params))] if params["dataset"]["source"] == "folder" else []
    return {
        f"fetch-{name}": {"wdir": "..", "cmd": f"{cmd} fetch", "deps": [*cards, *code_files("fetch")],
                          "params": [{p.params_file: fetch_keys}], "outs": [uncached(fetch_out)]},
        # the cards that choose the builder and corpus loader this stage runs (harness/cards.py)
        f"prepare-{name}": {"wdir": "..", "cmd": f"{cmd} prepare",
                            "deps": [fetch_out, *folder, *chosen_cards(params), *code_files("prepare")],
                            "params": [{p.params_file: list(PREPARE_KEYS)}], "outs": [str(paths.data_dir(params))]},
    }


def render(pipelines: list[tuple[Pipeline, dict[str, Any]]]) -> str:
    """datasets/dvc.yaml: the fetch and prepare stages of every dataset the pipelines name."""
    from harness.dvcfile import NoAliases

    stages: dict[str, dict[str, Any]] = {}
    for name, (p, params) in owners(pipelines).items():
        stages.update(_stages(p, params))
    header = ("# Written by `python -m harness pipelines` from the pipelines' `dataset` settings: edit those and run it"
              " again.\n# Each dataset is fetched and prepared once into data/<name>/, whatever pipelines read it;"
              " `dvc repro` of a\n# pipeline runs these first where they are out of date.\n")
    return header + yaml.dump({"stages": stages}, Dumper=NoAliases, sort_keys=False, width=120)
