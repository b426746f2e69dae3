"""The dataset builders, by `dataset.source`: each takes (params, output folder), writes the pipeline's data folder
in the on-disk format (harness/data/schema.py) and returns the stats the prepare stage prints. Each dataset's card
names its builder (`loader:`, harness/cards.py); `folder` reads any folder already in the format, checked against
the folder's own card."""

from __future__ import annotations

from harness.cards import card_entries
from harness.registry import Registry

BUILDERS = Registry("dataset.source", {**card_entries("dataset.source"), "folder": "harness.data.folder:build_folder"})
