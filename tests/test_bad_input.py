"""Bad input gives one clear error line naming the file and the field, and leaves earlier outputs intact."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.data.schema import Dataset, read_corpus, read_queries
from harness.errors import InputError
from harness.params import load_params

ROOT = Path(__file__).resolve().parent.parent


def _copy(toy_dir: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "ds"
    shutil.copytree(toy_dir, dst)
    return dst


def _rewrite_first(path: Path, **changes) -> None:
    lines = path.read_text().splitlines()
    row = json.loads(lines[0])
    row.update(changes)
    lines[0] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n")


def test_missing_image_names_file_and_field(toy_dir, tmp_path):
    ds = _copy(toy_dir, tmp_path)
    _rewrite_first(ds / "queries.jsonl", image="images/nope.png")
    with pytest.raises(InputError) as e:
        read_queries(ds / "queries.jsonl")
    assert "queries.jsonl:1" in str(e.value) and "'image'" in str(e.value) and "nope.png" in str(e.value)


def test_empty_question(toy_dir, tmp_path):
    ds = _copy(toy_dir, tmp_path)
    _rewrite_first(ds / "queries.jsonl", question="   ")
    with pytest.raises(InputError, match=r"queries.jsonl:1: field 'question': is empty"):
        read_queries(ds / "queries.jsonl")


def test_duplicate_qid(toy_dir, tmp_path):
    ds = _copy(toy_dir, tmp_path)
    lines = (ds / "queries.jsonl").read_text().splitlines()
    (ds / "queries.jsonl").write_text("\n".join(lines + [lines[0]]) + "\n")
    with pytest.raises(InputError, match=rf"queries.jsonl:{len(lines) + 1}: field 'qid': duplicate id"):
        read_queries(ds / "queries.jsonl")


def test_duplicate_passage_id(toy_dir, tmp_path):
    ds = _copy(toy_dir, tmp_path)
    lines = (ds / "corpus.jsonl").read_text().splitlines()
    (ds / "corpus.jsonl").write_text("\n".join(lines + [lines[3]]) + "\n")
    with pytest.raises(InputError, match=r"corpus.jsonl:\d+: field '_id': duplicate id"):
        read_corpus(ds / "corpus.jsonl")


def test_corrupt_image_is_caught_by_validate(toy_dir, tmp_path):
    ds = _copy(toy_dir, tmp_path)
    first = json.loads((ds / "queries.jsonl").read_text().splitlines()[0])
    (ds / first["image"]).write_bytes(b"\x89PNG not really")
    out = subprocess.run([sys.executable, "-m", "harness", "validate", str(ds)], capture_output=True, text=True)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "queries.jsonl" in lines[0] and "image" in lines[0] and "corrupt" in lines[0]


def test_validate_refuses_qrels_naming_a_passage_the_corpus_lacks(toy_dir, tmp_path):
    ds = _copy(toy_dir, tmp_path)
    qrels = sorted((ds / "qrels").glob("*.tsv"))[0]
    lines = qrels.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line and not line.startswith("query-id"))
    qid, _, score = lines[first].split("\t")
    lines[first] = "\t".join([qid, "no_such_passage", score])
    qrels.write_text("\n".join(lines) + "\n")
    out = subprocess.run([sys.executable, "-m", "harness", "validate", str(ds)], capture_output=True, text=True)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and qrels.name in lines[0] and "no_such_passage" in lines[0]


def test_non_utf8_and_bad_json(tmp_path):
    (tmp_path / "corpus.jsonl").write_bytes(b'{"_id": "a", "text": "caf\xe9"}\n')
    with pytest.raises(InputError, match="not UTF-8"):
        read_corpus(tmp_path / "corpus.jsonl")
    (tmp_path / "corpus.jsonl").write_text('{"_id": "a", "text": "x"}\n{oops\n')
    with pytest.raises(InputError, match=r"corpus.jsonl:2: field '-': not valid JSON"):
        read_corpus(tmp_path / "corpus.jsonl")


@pytest.mark.parametrize("path,value,field", [
    (("protocol", "steps"), "many", "protocol.steps"),
    (("eval", "ks"), [5, "ten"], "eval.ks.1"),
    (("data_seed",), 1.5, "data_seed"),
    (("dataset", "toy", "drop_colour"), 2, "dataset.toy.drop_colour"),
])
def test_params_with_a_wrong_type(tmp_path, path, value, field):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    node = params
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    with pytest.raises(InputError) as e:
        load_params(tmp_path / "params.yaml")
    assert f"field '{field}'" in str(e.value) and "params.yaml" in str(e.value)


def test_cli_bad_params_is_one_line_and_leaves_outputs(toy_dir, tmp_path):
    """A stage run with a malformed params.yaml fails before touching the data folder it would rewrite."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["dataset"]["toy"]["n_kinds"] = "lots"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    data = tmp_path / "data" / "toy"
    shutil.copytree(toy_dir, data)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in data.iterdir())
    out = subprocess.run([sys.executable, "-m", "harness", "prepare"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0
    assert "params.yaml" in out.stderr and "dataset.toy.n_kinds" in out.stderr
    assert sorted((p.name, p.stat().st_mtime_ns) for p in data.iterdir()) == before
    Dataset(data)  # still whole
