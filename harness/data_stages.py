"""The data the pipelines read, prepared once per dataset and once per corpus. `datasets/dvc.yaml` (written by
`python -m harness pipelines`) holds a `fetch-<name>` and a `prepare-<name>` stage for each `dataset.name` the
pipelines use (`prepare-<name>` writes `data/<name>/`), and a `prepare-corpus-<corpus>` stage for each named corpus
those datasets read (`data/corpora/<corpus>/`, harness/data/prepared_corpus.py). Every pipeline naming a dataset
reads that one folder, so a dataset or corpus is downloaded, built and hashed once however many pipelines train or
evaluate on it (`dvc repro` of a pipeline runs these first where they are out of date). Pipelines sharing a
dataset must prepare it alike (`dataset` and `data_seed` equal), datasets sharing a corpus must name it alike
(`dataset.corpus` equal); each stage runs with the params of the pipeline whose profile is the dataset's name
(for a corpus: whose dataset's name is the corpus's), else the first by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from harness import paths
from harness.errors import InputError

if TYPE_CHECKING:
    from harness.dvcfile import Pipeline

DATA_DVC = "datasets/dvc.yaml"
PREPARE_KEYS = ("data_seed", "dataset")  # what the prepared folder depends on
RESERVED = ("corpora",)  # data/corpora/ holds the named corpora


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
        if name in RESERVED:
            p = found[0][0]
            raise InputError(p.overrides_file or p.params_file, "dataset.name", f"{name!r} is reserved (data/{name}/)")
        owner = next((u for u in found if u[1]["profile"] == name), found[0])
        _check_alike(found, owner, PREPARE_KEYS, f"prepares data/{name}/ too: set it alike or give this dataset "
                                                 "another dataset.name")
        out[name] = owner
    return out


def corpus_owners(datasets: dict[str, tuple[Pipeline, dict[str, Any]]]) -> dict[str, tuple[Pipeline, dict[str, Any]]]:
    """corpus name -> the pipeline whose params prepare it, over the datasets' owners (`owners`)."""
    from harness.data.prepared_corpus import shared_corpus

    users: dict[str, list[tuple[Pipeline, dict[str, Any]]]] = {}
    for _, owner in sorted(datasets.items()):
        corpus = shared_corpus(owner[1])
        if corpus:
            users.setdefault(corpus, []).append(owner)
    out = {}
    for corpus, found in sorted(users.items()):
        owner = next((u for u in found if u[1]["dataset"]["name"] == corpus), found[0])
        _check_alike(found, owner, ("dataset.corpus",), f"reads the corpus {corpus!r} too: set it alike")
        out[corpus] = owner
    return out


def check_tasks(p: Pipeline, params: dict[str, Any], datasets: dict[str, Any], corpora: dict[str, Any]) -> None:
    """Each task's dataset is one some pipeline prepares, and its corpus that dataset's own or a named corpus."""
    from harness.tasks import corpus_name, tasks

    for task in tasks(params).values():
        name = task.dataset or str(params["dataset"]["name"])
        if name not in datasets:
            raise InputError(p.overrides_file or p.params_file, f"tasks.{task.name}.dataset",
                             f"no pipeline prepares {name!r}; the datasets are {sorted(datasets)}")
        own = corpus_name(datasets[name][1])
        if task.corpus != own and task.corpus not in corpora:
            raise InputError(p.overrides_file or p.params_file, f"tasks.{task.name}.corpus",
                             f"{task.corpus!r} is neither {name}'s corpus ({own}) nor a named corpus "
                             f"({', '.join(sorted(corpora)) or 'none'})")


def _check_alike(found: list[tuple[Pipeline, dict[str, Any]]], owner: tuple[Pipeline, dict[str, Any]],
                 keys: tuple[str, ...], why: str) -> None:
    """Every user's settings under `keys` (dotted) equal the owner's, else one line naming the first difference."""
    def get(params: dict[str, Any], dotted: str) -> Any:
        for part in dotted.split("."):
            params = params.get(part) if isinstance(params, dict) else None
        return params

    for p, params in found:
        for key in keys:
            field = first_difference(get(params, key), get(owner[1], key), key)
            if field:
                raise InputError(p.overrides_file or p.params_file, field,
                                 f"differs from pipeline {owner[0].name!r}, which {why}")


def _command(p: Pipeline) -> str:
    return "python -m harness" + ("" if p.overrides_file is None else f" --params {p.params_file}")


def _stages(p: Pipeline, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    from harness.cards import chosen_cards
    from harness.data.fetch import needed
    from harness.data.folder import card_file, source_folder
    from harness.data.prepared_corpus import shared_corpus
    from harness.dvcfile import code_files, uncached

    name, cmd = str(params["dataset"]["name"]), _command(p)
    corpus = shared_corpus(params)
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
                            "deps": [fetch_out, *folder, *([str(paths.corpus_dir(corpus))] if corpus else []),
                                     *chosen_cards(params), *code_files("prepare")],
                            "params": [{p.params_file: list(PREPARE_KEYS)}], "outs": [str(paths.data_dir(params))]},
    }


def _corpus_stage(p: Pipeline, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    from harness.cards import chosen_cards
    from harness.data.prepared_corpus import shared_corpus
    from harness.dvcfile import code_files

    from harness.data.corpora import HUB_CORPORA

    corpus = str(shared_corpus(params))
    # a hub corpus is read from what the owning dataset's fetch downloaded and verified; the others are local
    # files whose sha256 the corpus's manifest records
    fetched = [str(paths.fetch_record(params))] if corpus in HUB_CORPORA else []
    return {f"prepare-corpus-{corpus}": {
        "wdir": "..", "cmd": f"{_command(p)} prepare-corpus",
        "deps": [*fetched, *chosen_cards(params, fields=("dataset.corpus.name",)), *code_files("prepare-corpus")],
        "params": [{p.params_file: ["dataset.corpus"]}], "outs": [str(paths.corpus_dir(corpus))]}}


Owned = dict[str, tuple["Pipeline", dict[str, Any]]]


def render(datasets: Owned, corpora: Owned) -> str:
    """datasets/dvc.yaml: the fetch and prepare stages of every dataset the pipelines name (`owners`) and the
    prepare stage of every named corpus they read (`corpus_owners`)."""
    from harness.dvcfile import NoAliases

    stages: dict[str, dict[str, Any]] = {}
    for p, params in corpora.values():
        stages.update(_corpus_stage(p, params))
    for name, (p, params) in datasets.items():
        stages.update(_stages(p, params))
    header = ("# Written by `python -m harness pipelines` from the pipelines' `dataset` settings: edit those and run it"
              " again.\n# Each dataset is fetched and prepared once into data/<name>/ and each named corpus into"
              " data/corpora/<name>/,\n# whatever pipelines read them; `dvc repro` of a pipeline runs these first"
              " where they are out of date.\n")
    return header + yaml.dump({"stages": stages}, Dumper=NoAliases, sort_keys=False, width=120)
