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
