"""A record comes from committed code: a stage refuses a dirty tree unless dirty runs are allowed, and then the
record and the tables say so. Pipeline outputs (results/, dvc.lock) do not count as dirt."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest

from harness.errors import InputError
from harness.provenance import ALLOW_DIRTY_ENV, git_state, require_clean_tree
from harness.report.tables import to_markdown


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results/table.md").write_text("old\n")
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "start")
    return tmp_path


def test_clean_tree_passes_and_outputs_are_not_dirt(repo, monkeypatch):
    monkeypatch.delenv(ALLOW_DIRTY_ENV, raising=False)
    (repo / "results/table.md").write_text("regenerated\n")
    (repo / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    state = require_clean_tree(repo)
    assert state["dirty"] is False and state["allow_dirty"] is False and len(state["sha"]) == 40


@pytest.mark.parametrize("dirt", ["modified", "untracked"])
def test_dirty_tree_is_refused_in_one_line(repo, monkeypatch, dirt):
    monkeypatch.delenv(ALLOW_DIRTY_ENV, raising=False)
    target = repo / ("code.py" if dirt == "modified" else "new_module.py")
    target.write_text("x = 2\n")
    with pytest.raises(InputError, match="uncommitted changes.*--allow-dirty") as err:
        require_clean_tree(repo)
    assert "\n" not in str(err.value) and target.name in str(err.value)


def test_allowed_dirty_run_is_marked(repo, monkeypatch):
    (repo / "code.py").write_text("x = 3\n")
    monkeypatch.setenv(ALLOW_DIRTY_ENV, "1")
    state = require_clean_tree(repo)
    assert state["dirty"] is True and state["allow_dirty"] is True and state["changed"] == ["code.py"]
    assert git_state(repo)["dirty"] is True


def test_tables_built_from_dirty_records_say_so():
    wide = pd.DataFrame([{"run": "a", "method": "m", "PR-Success@5": 50.0}])
    none = pd.DataFrame()
    assert "dirty working tree" in to_markdown(wide, none, dirty=True)
    assert "dirty" not in to_markdown(wide, none, dirty=False)


def test_a_dvc_experiment_may_change_params_and_its_records_say_so(repo, monkeypatch):
    """`dvc exp run -S protocol.steps=10` rewrites params.yaml and sets DVC_EXP_NAME for its stages."""
    monkeypatch.delenv(ALLOW_DIRTY_ENV, raising=False)
    (repo / "code.py").write_text("x = 2\n")
    monkeypatch.delenv("DVC_EXP_NAME", raising=False)
    with pytest.raises(InputError):
        require_clean_tree(repo)
    monkeypatch.setenv("DVC_EXP_NAME", "brisk-lamb")
    monkeypatch.setenv("DVC_EXP_BASELINE_REV", "a" * 40)
    state = require_clean_tree(repo)
    assert state["dirty"] is True and state["experiment"] == {"name": "brisk-lamb", "baseline": "a" * 40}
