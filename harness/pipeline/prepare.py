"""prepare: write the dataset folder (the toy world, or a source named by a dataset card)."""

from __future__ import annotations

from typing import Any

from harness import paths
from harness.data.schema import Dataset
from harness.data.toy_world import ToyConfig, generate_toy_world
from harness.errors import InputError


def prepare(params: dict[str, Any]) -> dict[str, Any]:
    ds = params["dataset"]
    out = paths.data_dir(params)
    if ds["source"] == "toy":
        stats = generate_toy_world(out, ToyConfig(seed=params["data_seed"], **ds.get("toy", {})))
    elif ds["source"] == "okvqa":
        from harness.data.okvqa.build import build_okvqa

        stats = build_okvqa(params, out)
    elif ds["source"] == "fvqa":
        from harness.data.fvqa import build_fvqa

        stats = build_fvqa(params, out)
    elif ds["source"] == "aokvqa":
        from harness.data.aokvqa import build_aokvqa

        stats = build_aokvqa(params, out)
    else:
        raise InputError("params.yaml", "dataset.source", f"unknown source {ds['source']!r} (known: toy, okvqa, fvqa, aokvqa)")
    Dataset(out)  # read back: the stage fails here, not three stages later, if anything is malformed
    return stats
