"""prepare: write the dataset folder with the builder `dataset.source` names (harness/data/builders.py)."""

from __future__ import annotations

from typing import Any

from harness import paths
from harness.data.builders import BUILDERS
from harness.data.schema import Dataset


def prepare(params: dict[str, Any]) -> dict[str, Any]:
    out = paths.data_dir(params)
    stats = BUILDERS.get(params["dataset"]["source"], paths.params_file(params))(params, out)
    Dataset(out)  # read back: the stage fails here, not three stages later, if anything is malformed
    return stats
