import shutil
from pathlib import Path

import pytest
import yaml

from harness.errors import InputError
from harness.profiles import use_profile

ROOT = Path(__file__).resolve().parent.parent


def test_profile_overrides_merge_and_toy_restores(tmp_path):
    shutil.copytree(ROOT / "profiles", tmp_path / "profiles")
    (tmp_path / "profiles" / "small.yaml").write_text(yaml.safe_dump(
        {"profile": "small", "protocol": {"steps": 5}, "runs": {"dpr": {"method": "dpr"}}}))
    params = tmp_path / "params.yaml"
    use_profile("small", params, tmp_path / "profiles")
    got = yaml.safe_load(params.read_text())
    assert got["profile"] == "small" and got["protocol"]["steps"] == 5 and list(got["runs"]) == ["dpr"]
    assert got["protocol"]["batch_size"] == yaml.safe_load((ROOT / "profiles/toy.yaml").read_text())["protocol"]["batch_size"]
    use_profile("toy", params, tmp_path / "profiles")
    assert params.read_text() == (ROOT / "profiles" / "toy.yaml").read_text()


def test_a_bad_profile_never_reaches_params_yaml(tmp_path):
    shutil.copytree(ROOT / "profiles", tmp_path / "profiles")
    (tmp_path / "profiles" / "bad.yaml").write_text(yaml.safe_dump({"protocol": {"steps": "many"}}))
    params = tmp_path / "params.yaml"
    params.write_text("old")
    with pytest.raises(InputError, match="protocol.steps"):
        use_profile("bad", params, tmp_path / "profiles")
    assert params.read_text() == "old"
    with pytest.raises(InputError, match="no such profile"):
        use_profile("nope", params, tmp_path / "profiles")


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "profiles").glob("*.yaml")))
def test_every_shipped_profile_validates_and_spells_runs_out(tmp_path, name):
    params = tmp_path / "params.yaml"
    use_profile(name, params, ROOT / "profiles")
    text = params.read_text()
    assert "&id" not in text and "*id" not in text  # YAML anchors of a profile are expanded for DVC
    got = yaml.safe_load(text)
    assert got["profile"] and got["runs"]
    if name == "okvqa_mini":
        assert set(got["runs"]) == {"bm25", "dpr_zeroshot", "dpr", "colbert_text_zeroshot", "colbert_text"}
        assert got["runs"]["dpr"]["params"] == got["runs"]["dpr_zeroshot"]["params"]
        assert got["runs"]["dpr_zeroshot"]["protocol"] == {"steps": 0}
