"""The dataset builders, by `dataset.source`: each takes (params, output folder), writes the pipeline's data folder
in the on-disk format (harness/data/schema.py) and returns the stats the prepare stage prints."""

from __future__ import annotations

from harness.registry import Registry

BUILDERS = Registry("dataset.source", {
    "toy": "harness.data.toy_world:build_toy",
    "okvqa": "harness.data.okvqa.build:build_okvqa",
    "fvqa": "harness.data.fvqa:build_fvqa",
    "aokvqa": "harness.data.aokvqa:build_aokvqa",
    "folder": "harness.data.folder:build_folder",
})
