import pytest

from harness.atomic import atomic_dir, write_json


def test_a_failed_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "m.json"
    write_json(target, {"v": 1})

    class Boom:  # json.dumps fails half way through the object
        pass

    with pytest.raises(TypeError):
        write_json(target, {"a": 1, "b": Boom()})
    assert target.read_text().strip().startswith("{") and '"v": 1' in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_a_failed_folder_leaves_the_old_folder(tmp_path):
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "weights").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "weights").write_text("half")
            raise RuntimeError("killed")
    assert (target / "weights").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
