"""The synthetic benchmark corpus: queries paraphrase a known source passage, which exact MaxSim ranks first."""

import numpy as np
import torch

from harness.index.maxsim import maxsim_packed
from harness.synthetic import clustered_tokens, queries_for, queries_with_sources


def test_queries_with_sources_are_queries_for_plus_the_passage_each_paraphrases():
    docs = clustered_tokens(400, 16, 32, seed=0)
    q, sources = queries_with_sources(docs, 20, 8, seed=1)
    assert np.array_equal(q.tokens, queries_for(docs, 20, 8, seed=1).tokens)
    assert sources.shape == (20,) and sources.min() >= 0 and sources.max() < len(docs)
    lengths = np.diff(docs.offsets)
    top1 = [int(maxsim_packed(torch.from_numpy(q.item(i)), torch.from_numpy(docs.tokens), lengths).argmax())
            for i in range(len(q))]
    assert np.mean(np.array(top1) == sources) >= 0.9  # the source stands clear of the near-ties
