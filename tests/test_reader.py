import torch

from harness.api import Passage, Query
from harness.reader.seq2seq import Seq2SeqReader, target_answer

PARAMS = {"backbone": {"source": "tiny", "tiny": {"d_model": 32, "d_ff": 64, "d_kv": 8, "num_layers": 1,
                                                  "num_heads": 2}},
          "top_k": 2, "use_vision_text": True, "max_input_length": 64, "max_answer_length": 6, "num_beams": 1}


def test_target_is_the_most_common_human_answer():
    q = Query("a", "?", None, ("dog", "cat", "cat", " ", "dog", "cat"))
    assert target_answer(q) == "cat"
    assert target_answer(Query("b", "?", None, ("b", "a"))) == "a"  # ties break alphabetically


def test_reader_learns_to_copy_and_round_trips(tmp_path):
    torch.manual_seed(0)
    reader = Seq2SeqReader.create(PARAMS, seed=0)
    q = [Query("1", "what does it eat?", None, ("zorbix",)), Query("2", "where is it found?", None, ("plimat",))]
    pos = [Passage("a", "", "it eats zorbix."), Passage("b", "", "it is found near plimat.")]
    neg = [Passage("c", "", "nothing here."), Passage("d", "", "nor here.")]
    opt = torch.optim.AdamW(reader.parameters(), lr=1e-2)
    first = None
    for _ in range(100):
        loss = reader.loss(q, pos, neg)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first
    ctx = {"1": [pos[0], neg[0]], "2": [neg[1], pos[1]]}
    answers = reader.answer(q, ctx)
    assert answers == {"1": "zorbix", "2": "plimat"}
    reader.save(tmp_path / "r")
    again = Seq2SeqReader.load(tmp_path / "r")
    assert again.answer(q, ctx) == answers
