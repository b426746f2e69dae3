"""The fetch stage: pinned revisions, one clear line when the hub cannot be reached, checksum and count checks
on a local copy, and nothing to do for offline profiles."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from harness.data.fetch import download, fetch, needed, verify
from harness.errors import InputError
from okvqa_fixtures import write_hub_folder

ROOT = Path(__file__).resolve().parent.parent


def _gs_params(local: str | None = None) -> dict:
    corpus = {"name": "okvqa_gs", **({"local": local} if local else {})}
    return {"dataset": {"name": "gs", "source": "okvqa", "okvqa": {"source": "files"}, "corpus": corpus}}


def test_offline_profiles_need_nothing(tmp_path: Path):
    params = {"dataset": {"name": "toy", "source": "toy"}}
    rec = fetch(params, tmp_path / "toy.fetch.json")
    assert rec["downloads"] == [] and (tmp_path / "toy.fetch.json").is_file()


def test_an_unpinned_revision_is_refused():
    card, src = needed(_gs_params())[0]
    assert src["revision"] is None  # the card does not invent a commit
    with pytest.raises(InputError, match="pinned 40-hex commit") as err:
        download(card, src)
    assert err.value.field == "source.revision"


def test_an_unreachable_hub_is_one_line_naming_the_id(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    card, src = needed(_gs_params())[0]
    src = {**src, "revision": "0" * 40, "local": str(tmp_path / "gs")}
    with pytest.raises(InputError) as err:
        download(card, src)
    message = str(err.value)
    assert "BByrneLab/OKVQA_FLMR_preprocessed_GoogleSearch_passages" in message and "\n" not in message
    assert "copy its parquet files into" in message


def test_a_local_copy_is_verified_not_fetched(tmp_path: Path):
    folder = write_hub_folder(tmp_path / "copy")
    f = folder / "data" / "train-00000-of-00001.parquet"
    good = hashlib.sha256(f.read_bytes()).hexdigest()
    src = {"repo": "x/y", "revision": "a" * 40, "sha256": {"data/train-00000-of-00001.parquet": good},
           "expected_counts": {"train": 8, "test": 4}}
    rec = verify(Path("card.yaml"), src, folder)
    assert rec["counts"] == {"train": 8, "test": 4} and rec["sha256"]
    with pytest.raises(InputError, match="expects 9"):
        verify(Path("card.yaml"), {**src, "expected_counts": {"train": 9}}, folder)
    with pytest.raises(InputError, match="the card pins"):
        verify(Path("card.yaml"), {**src, "sha256": {"data/train-00000-of-00001.parquet": "b" * 64}}, folder)


def test_cards_pin_what_they_can():
    for name in ("okvqa", "okvqa_gs", "okvqa_wiki", "psgs_w100", "wiki_vital"):
        card = yaml.safe_load((ROOT / "datasets" / name / "card.yaml").read_text())
        assert card["name"] == name and "license" in card
    wiki = yaml.safe_load((ROOT / "datasets/okvqa_wiki/card.yaml").read_text())
    assert len(wiki["source"]["revision"]) == 40
    gs = yaml.safe_load((ROOT / "datasets/okvqa_gs/card.yaml").read_text())
    assert gs["expected_counts"] == {"train_passages": 112724, "valid_passages": 168306, "test_passages": 168306}


def test_fetch_checks_a_local_copy_when_the_hub_is_out_of_reach(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for f in (write_hub_folder(tmp_path / "gs") / "data").iterdir():  # named like the corpus card's splits
        f.rename(f.with_name(f.name.replace("train-", "train_passages-").replace("test-", "test_passages-")))

    def params(local: Path) -> dict:
        p = _gs_params(str(local))
        p["dataset"]["corpus"]["revision"] = "1" * 40
        return p

    with pytest.raises(InputError, match="expects 112724"):  # the copy is still held to the card's counts
        fetch(params(tmp_path / "gs"), tmp_path / "gs.fetch.json")
    assert not (tmp_path / "gs" / ".verified.json").exists()
    with pytest.raises(InputError, match="cannot download"):  # and without a copy: the one-line error
        fetch(params(tmp_path / "empty"), tmp_path / "empty.fetch.json")


def _card_folder(tmp_path: Path) -> Path:
    (tmp_path / "datasets" / "okvqa_gs").mkdir(parents=True)
    card = tmp_path / "datasets" / "okvqa_gs" / "card.yaml"
    card.write_text((ROOT / "datasets" / "okvqa_gs" / "card.yaml").read_text())
    return card


def test_resolve_pins_the_served_commit_into_the_card(tmp_path: Path, monkeypatch):
    import huggingface_hub

    from harness.pins import pin

    card = _card_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    sha = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda: type("Api", (), {
        "dataset_info": lambda self, repo: type("Info", (), {"sha": sha})()})())
    lines = pin(_gs_params())
    assert lines[0] == f"datasets/okvqa_gs/card.yaml: BByrneLab/OKVQA_FLMR_preprocessed_GoogleSearch_passages pinned at {sha}"
    assert lines[-1].startswith("commit the pins") and "datasets/okvqa_gs/card.yaml" in lines[-1]
    text = card.read_text()
    assert yaml.safe_load(text)["source"]["revision"] == sha
    assert text.startswith("# The Google Search corpus")  # the card's comments and layout are kept
    assert pin(_gs_params())[0].endswith(f"already pinned at {sha}")


def test_resolve_offline_is_one_line_and_leaves_the_card(tmp_path: Path, monkeypatch):
    from harness.pins import pin

    card = _card_folder(tmp_path)
    before = card.read_text()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match="cannot resolve BByrneLab/OKVQA_FLMR_preprocessed_GoogleSearch_passages") as err:
        pin(_gs_params())
    assert "\n" not in str(err.value) and card.read_text() == before
