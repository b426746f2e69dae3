"""Named choices (index backends, readers, dataset builders, corpus loaders): one table each, imported lazily, an
unknown name one line naming the params file, and the chosen module still a DVC dependency of the stage."""

from __future__ import annotations

import pytest
import torch

from harness.api import Reader
from harness.code_deps import ROOT, import_closure
from harness.data.corpora import LOADERS
from harness.errors import InputError
from harness.index import FAMILY_INDEXES, LATE_INDEXES
from harness.data.builders import BUILDERS
from harness.reader import READERS
from harness.registry import Registry

ALL = (LATE_INDEXES, FAMILY_INDEXES, READERS, BUILDERS, LOADERS)


def test_unknown_name_is_one_line_naming_file_field_and_choices() -> None:
    with pytest.raises(InputError) as err:
        READERS.get("t6", "pipelines/x/overrides.yaml")
    message = str(err.value)
    assert "pipelines/x/overrides.yaml" in message and "reader.backbone.kind" in message and "t6" in message
    assert "blip2" in message and "\n" not in message


@pytest.mark.parametrize("registry", ALL, ids=lambda r: r.field)
def test_every_entry_names_an_importable_object(registry: Registry) -> None:
    for name, target in registry.entries.items():
        module = target.partition(":")[0]
        if module in ("harness.index.plaid", "harness.reader.blip2"):  # optional extras: checked by name only
            assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), name
            continue
        assert callable(registry.get(name)), name


@pytest.mark.parametrize("kind", sorted(set(READERS.entries.values()) - {"harness.reader.blip2:Blip2Reader"}))
def test_every_reader_class_has_the_reader_contract(kind: str) -> None:
    import importlib

    module, _, name = kind.partition(":")
    cls = getattr(importlib.import_module(module), name)
    methods = [m for m, v in vars(Reader).items() if callable(v) or isinstance(v, classmethod)]
    methods = [m for m in methods if not m.startswith("_")]
    assert set(methods) == {"create", "load", "save", "loss", "answer"}
    assert issubclass(cls, torch.nn.Module) and all(callable(getattr(cls, m, None)) for m in methods), kind
    assert hasattr(cls, "per_passage")


def test_a_choice_made_by_name_is_in_the_stage_code_closure() -> None:
    # the stages import these modules only through registry strings; DVC must still list them as dependencies
    closure = {p.relative_to(ROOT).as_posix() for p in import_closure(["harness.pipeline.build_index"])}
    assert {"harness/index/centroid.py", "harness/index/twostage.py", "harness/index/sparse.py"} <= closure
    prepare = {p.relative_to(ROOT).as_posix() for p in import_closure(["harness.pipeline.prepare"])}
    assert {"harness/data/fvqa.py", "harness/data/aokvqa.py", "harness/data/okvqa/build.py"} <= prepare


def test_the_prepare_stage_names_the_params_file_of_an_unknown_source(tmp_path) -> None:
    from harness.pipeline.prepare import prepare

    params = {"dataset": {"source": "okvqa2", "name": "x"}, "profile": "x", "_source": "pipelines/x/params.yaml"}
    with pytest.raises(InputError, match="pipelines/x/params.yaml.*dataset.source.*okvqa2"):
        prepare(params)


def test_the_cards_name_the_builders_and_corpus_loaders() -> None:
    import yaml

    named = {}
    for card in sorted((ROOT / "datasets").glob("*/card.yaml")):
        loader = yaml.safe_load(card.read_text()).get("loader")
        if loader:
            (field,) = set(loader) - {"function"}
            named[(field, loader[field])] = loader["function"]
    assert {n for f, n in named if f == "dataset.source"} == {"toy", "okvqa", "fvqa", "aokvqa"}
    for (field, name), function in named.items():
        registry = BUILDERS if field == "dataset.source" else LOADERS
        assert registry.entries[name] == function, (field, name)
    assert set(BUILDERS.entries) - {n for _, n in named} == {"folder"}  # formats, not datasets: no card
    assert set(LOADERS.entries) - {n for _, n in named} == {"jsonl"}


def _card(root, name: str, loader: object) -> None:
    import yaml

    (root / "datasets" / name).mkdir(parents=True)
    (root / "datasets" / name / "card.yaml").write_text(yaml.safe_dump({"name": name, "loader": loader}))


def test_a_card_adds_a_builder_and_a_bad_loader_is_one_line(tmp_path) -> None:
    from harness.cards import card_entries, loader_modules

    _card(tmp_path, "mine", {"dataset.source": "mine", "function": "harness.data.toy_world:build_toy"})
    assert card_entries("dataset.source", tmp_path) == {"mine": "harness.data.toy_world:build_toy"}
    assert card_entries("dataset.corpus.name", tmp_path) == {}
    assert loader_modules(tmp_path, "dataset.source") == {"harness.data.toy_world"}
    bad = tmp_path / "bad"
    _card(bad, "typo", {"dataset.sorce": "typo", "function": "harness.data.toy_world:build_toy"})
    with pytest.raises(InputError) as err:
        card_entries("dataset.source", bad)
    assert err.value.field == "loader" and "datasets/typo/card.yaml" in str(err.value)
    twice = tmp_path / "twice"
    for name in ("a", "b"):
        _card(twice, name, {"dataset.source": "same", "function": "harness.data.toy_world:build_toy"})
    with pytest.raises(InputError, match="datasets/a/card.yaml already"):
        card_entries("dataset.source", twice)


def test_the_prepare_stage_depends_on_the_card_that_chooses_its_builder() -> None:
    import yaml

    stages = yaml.safe_load((ROOT / "datasets/dvc.yaml").read_text())["stages"]
    assert "datasets/toy/card.yaml" in stages["prepare-toy"]["deps"]
    closure = {p.relative_to(ROOT).as_posix() for p in import_closure(["harness.data.builders"])}
    assert "harness/data/toy_world.py" in closure  # named only in the card, still a dependency
