"""Parity with the official FLMR code: the tiny FLMR that the official implementation saved, loaded through
`methods/flmr/official.py`, reproduces the official token ids, query and context embeddings (text and vision
tokens, with and without regions), masks and scores (../shared/fixtures/flmr_official_tiny/, README there)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from harness.index.maxsim import maxsim
from methods.flmr.official import load_official

ROOT = Path(__file__).resolve().parents[1]
EMB_ATOL, SCORE_ATOL = 1e-5, 1e-4  # the fixture README's tolerances for a float32 re-implementation
N_TEXT = 32  # query_maxlen: text tokens come first, then 4 vision tokens per image (region-major)


@pytest.fixture(scope="module")
def fixture() -> dict:
    folder = Path(os.environ.get("FLMR_BENCH_SHARED_FIXTURES", ROOT.parent / "shared" / "fixtures")) \
        / "flmr_official_tiny"
    if not (folder / "model").is_dir():
        pytest.skip(f"official FLMR fixture not found at {folder} (set FLMR_BENCH_SHARED_FIXTURES)")
    torch.set_num_threads(1)  # the fixture was made with one thread; two differ by ~2e-7
    return {"model": load_official(folder / "model"), "inputs": json.loads((folder / "inputs.json").read_text()),
            "pixels": load_file(str(folder / "pixel_values.safetensors")),
            "expected": load_file(str(folder / "expected.safetensors"))}


def _queries(fx: dict) -> dict[str, torch.Tensor]:
    m = fx["model"]
    return m._tokenize(fx["inputs"]["queries"], m.q_marker, int(m.params["query_maxlen"]), True)


def _docs(fx: dict) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    m = fx["model"]
    enc = m._tokenize(fx["inputs"]["passages"], m.d_marker, 512, False)
    mask = enc["attention_mask"].bool() & ~torch.isin(enc["input_ids"], m.punct_ids)
    with torch.no_grad():
        return m._text_tokens(enc), mask, enc


def _vision_tokens(fx: dict, pixels: torch.Tensor) -> torch.Tensor:
    """pixels [B, R, C, H, W] -> [B, R * 4, dim], through the model's own feature rule and mapping network."""
    m = fx["model"]
    b, r = pixels.shape[:2]
    with torch.no_grad():
        feats = m.vision(pixels.flatten(0, 1)).view(b, r, -1)
        return m.map_features(feats)


def test_token_ids_and_masks_match_the_official_tokenizers(fixture):
    enc = _queries(fixture)
    assert enc["input_ids"].tolist() == fixture["inputs"]["query_input_ids"]
    assert enc["attention_mask"].tolist() == fixture["inputs"]["query_attention_mask"]  # 0 on [MASK] padding
    assert enc["score_mask"].all()  # every query token, [MASK] included, is scored
    _, mask, denc = _docs(fixture)
    want = torch.tensor(fixture["inputs"]["context_input_ids"])
    n = denc["input_ids"].shape[1]
    assert torch.equal(denc["input_ids"], want[:, :n]) and not want[:, n:].any()  # the rest is padding
    assert torch.equal(mask, fixture["expected"]["context_mask"][:, :n, 0])  # punctuation and [PAD] dropped
    assert not fixture["expected"]["context_mask"][:, n:].any()


def test_query_embeddings_text_and_vision(fixture):
    exp, m = fixture["expected"], fixture["model"]
    with torch.no_grad():
        text = m._text_tokens(_queries(fixture))
    assert (text - exp["query_embeddings"][:, :N_TEXT]).abs().max() <= EMB_ATOL
    pixels = fixture["pixels"]["pixel_values"]
    with torch.no_grad():
        feats = m.vision(pixels)
    # the mapping network's input is CLIP's CLS before post-layernorm, not pooler_output
    assert (feats - exp["debug_query_vision_cls_last_hidden_state"]).abs().max() <= EMB_ATOL
    with torch.no_grad():
        assert (m.mapping(feats) - exp["debug_query_mapping_network_output"]).abs().max() <= EMB_ATOL
    vision = _vision_tokens(fixture, pixels[:, None])
    assert (vision - exp["query_embeddings"][:, N_TEXT:]).abs().max() <= EMB_ATOL
    rois = _vision_tokens(fixture, fixture["pixels"]["pixel_values_roi"])
    assert (rois - exp["query_embeddings_roi"][:, N_TEXT:]).abs().max() <= EMB_ATOL


def test_context_embeddings_and_scores(fixture):
    exp = fixture["expected"]
    docs, mask, _ = _docs(fixture)
    n = docs.shape[1]
    want = exp["context_embeddings"][:, :n]
    assert ((docs - want).abs() * mask[..., None]).max() <= EMB_ATOL  # the official zeros masked positions
    with torch.no_grad():
        text = fixture["model"]._text_tokens(_queries(fixture))
    for pixels, key in ((fixture["pixels"]["pixel_values"][:, None], "scores"),
                        (fixture["pixels"]["pixel_values_roi"], "scores_roi")):
        q = torch.cat([text, _vision_tokens(fixture, pixels)], dim=1)
        assert (maxsim(q, docs, mask) - exp[key]).abs().max() <= SCORE_ATOL, key


def test_the_post_layernorm_input_would_fail_parity(fixture):
    """The check above can fail: CLIP's pooler_output (what this code fed the mapping network before) is off."""
    m, exp = fixture["model"], fixture["expected"]
    with torch.no_grad():
        pooled = m.vision.model(pixel_values=fixture["pixels"]["pixel_values"]).pooler_output
        wrong = torch.nn.functional.normalize(m.mapping(pooled).view(3, -1, int(m.params["dim"])), dim=-1)
    assert (wrong - exp["query_embeddings"][:, N_TEXT:]).abs().max() > 100 * EMB_ATOL
