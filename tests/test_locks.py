"""Every committed dvc.lock is in the form DVC itself writes (dependencies and outputs sorted by path), so a
regeneration that reproduces every number leaves the locks byte-identical too, and names only stages its dvc.yaml
has."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.dvc_foreach import expand

ROOT = Path(__file__).resolve().parent.parent
LOCKS = sorted(p.relative_to(ROOT).as_posix() for p in [ROOT / "dvc.lock", *ROOT.glob("*/dvc.lock"),
                                                         *ROOT.glob("pipelines/*/dvc.lock")] if p.is_file())


@pytest.mark.parametrize("lock", LOCKS)
def test_a_lock_lists_paths_in_dvcs_order_and_only_stages_that_exist(lock):
    stages = yaml.safe_load((ROOT / lock).read_text())["stages"]
    defined = expand(yaml.safe_load((ROOT / lock).with_name("dvc.yaml").read_text())["stages"])
    assert set(stages) <= set(defined), f"{lock}: entries for stages its dvc.yaml lacks: {set(stages) - set(defined)}"
    for name, entry in stages.items():
        for field in ("deps", "outs"):
            paths = [str(e["path"]) for e in entry.get(field, [])]
            assert paths == sorted(paths), f"{lock}: {name}.{field} is not in the order DVC writes (by path)"
