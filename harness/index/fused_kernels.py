"""Triton kernels of the centroid engine's fused candidate stage (harness/index/fused_candidates.py calls them
and says what they compute). Imported only where Triton is installed."""

import triton
import triton.language as tl


@triton.jit
def probe_kernel(top_s, top_c, list_offsets, list_docs, best, n_docs, nprobe, BLOCK: tl.constexpr):
    pair = tl.program_id(0)
    row = (pair // nprobe).to(tl.int64)
    centroid = tl.load(top_c + pair)
    score = tl.load(top_s + pair)
    start = tl.load(list_offsets + centroid)
    end = tl.load(list_offsets + centroid + 1)
    for off in range(start, end, BLOCK):
        idx = off + tl.arange(0, BLOCK)
        inside = idx < end
        doc = tl.load(list_docs + idx, mask=inside, other=0).to(tl.int64)
        tl.atomic_max(best + row * n_docs + doc, tl.zeros([BLOCK], tl.float32) + score, mask=inside)


@triton.jit
def interaction_kernel(scores_t, codes, token_offsets, cand, best, n_q, WIDEN: tl.constexpr,
                       BT: tl.constexpr, BQ: tl.constexpr):
    i = tl.program_id(0)
    doc = tl.load(cand + i)
    start = tl.load(token_offsets + doc)
    end = tl.load(token_offsets + doc + 1)
    qi = tl.arange(0, BQ)
    q_in = qi < n_q
    acc = tl.full([BQ], float("-inf"), tl.float32)
    for off in range(start, end, BT):
        tok = off + tl.arange(0, BT)
        t_in = tok < end
        code = tl.load(codes + tok, mask=t_in, other=0).to(tl.int64)
        if WIDEN:  # uint16 codes held as int16
            code = code & 0xFFFF
        vals = tl.load(scores_t + code[:, None] * n_q + qi[None, :], mask=t_in[:, None] & q_in[None, :],
                       other=float("-inf"))
        acc = tl.maximum(acc, tl.max(vals, axis=0))
    acc = tl.where(acc == float("-inf"), 0.0, acc)
    tl.store(best + i.to(tl.int64) * n_q + qi, acc, mask=q_in)
