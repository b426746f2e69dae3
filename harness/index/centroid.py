"""`centroid`: the harness's own compressed late-interaction engine (no faiss, CPU or CUDA).

Build: spherical k-means centroids over a sample of the document tokens; every token goes to its nearest
centroid; an inverted list maps each centroid to the documents holding a token assigned to it (int32 ids,
deduplicated). The float16 token store stays on disk, memory-mapped.
Search, per query:
  1. centroid scores S = Q C^T, [query tokens, nlist];
  2. candidates: for each query token its `nprobe` best centroids; their lists, united;
  3. an approximate MaxSim for each candidate: per query token, the best score S[i, c] among the probed
     centroids c the document holds (0 if none), summed over query tokens;
  3b. optionally (`interaction` > 0), that many candidates are scored again by centroid interaction (every
     document token replaced by its centroid, PLAID's second stage);
  4. the `candidates` best by approximate score are re-ranked: by exact MaxSim on the token store, or, with
     `residual_bits` > 0, by MaxSim on tokens decoded from their centroid and a quantized residual held in RAM
     (harness/index/residual.py), so search reads nothing from the store.
RAM: centroids, inverted lists (4 B per posting, at most one per token), token codes (2 B per token while
nlist <= 65,536), document offsets and, with residuals, dim * bits / 8 B per token; the float16 store a
store re-rank reads is counted apart, as disk bytes per token (and as resident pages by the benchmark).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.api import IndexStats, MultiVectorEmbeddings, Run
from harness.atomic import atomic_path, write_json
from harness.distributed.runtime import broadcast, current, gather_to_main, shard_bounds
from harness.errors import InputError
from harness.pagecache import release, take_rows
from harness.index import fused_candidates
from harness.index.late import TokenStore
from harness.index.maxsim import gather_packed, maxsim_packed, packed_rows
from harness.index.postings import inverted_lists
from harness.index.residual import ResidualCodec
from harness.progress import bar

ASSIGN_SLICE = 1 << 20  # tokens assigned to centroids at a time
SCORE_BUDGET = 1 << 28  # elements of one [tokens, centroids] score block (1 GiB of float32)
DENSE_SCORE_LIMIT = 1 << 22  # query tokens x documents below which approximate scores use a dense buffer
FUSED_DENSE_LIMIT = 1 << 28  # the fused kernel's dense [query tokens, documents] buffer, at most 1 GiB
KERNELS = ("auto", "torch", "fused")  # search-time choice of the candidate stage; never part of the built index


def _save(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)


def assign(x: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Index of the nearest (highest inner product) centroid of every row, in bounded memory."""
    out = torch.empty(len(x), dtype=torch.int64, device=x.device)
    # 65,536 rows a block up to 4,096 centroids (the blocks every committed index was assigned in), fewer past it
    chunk = min(1 << 16, max(256, SCORE_BUDGET // max(1, len(centroids))))
    for s in range(0, len(x), chunk):
        out[s : s + chunk] = (x[s : s + chunk] @ centroids.T).argmax(1)
    return out


def spherical_kmeans(x: torch.Tensor, k: int, iters: int, seed: int) -> torch.Tensor:
    """Unit-norm centroids maximising the inner product with their members (tokens are unit vectors)."""
    gen = torch.Generator().manual_seed(seed)
    centroids = x[torch.randperm(len(x), generator=gen)[:k].to(x.device)].clone()
    for _ in bar(range(iters), "k-means", unit="iter"):
        codes = assign(x, centroids)
        sums = torch.zeros_like(centroids).index_add_(0, codes, x)
        counts = torch.bincount(codes, minlength=k)
        moved = counts > 0  # an empty centroid keeps its place
        centroids[moved] = torch.nn.functional.normalize(sums[moved], dim=1)
    return centroids


class CoarseAssigner:
    """Nearest-centroid assignment through a coarse quantizer, for large `nlist`: the centroids are grouped by
    k-means into ~sqrt(nlist) groups; a token is compared with the groups, then only with the centroids of its
    `probe` best groups. About sqrt(nlist) * (1 + probe) products per token instead of nlist; approximate (a
    token whose nearest centroid sits in a group outside its best `probe` gets the best one inside)."""

    def __init__(self, centroids: torch.Tensor, probe: int):
        n_groups = int(2 ** np.round(np.log2(max(2.0, np.sqrt(len(centroids))))))
        self.centroids, self.probe = centroids, min(probe, n_groups)
        self.groups = spherical_kmeans(centroids, n_groups, 8, seed=0)
        member_of = assign(centroids, self.groups)
        self.members = [torch.nonzero(member_of == g).flatten() for g in range(n_groups)]

    def __call__(self, x: torch.Tensor, chunk: int = 1 << 16) -> torch.Tensor:
        out = torch.empty(len(x), dtype=torch.int64, device=x.device)
        for s in range(0, len(x), chunk):
            out[s : s + chunk] = self._assign(x[s : s + chunk])
        return out

    def _assign(self, x: torch.Tensor) -> torch.Tensor:
        best_group = torch.topk(x @ self.groups.T, self.probe, dim=1).indices  # [n, probe]
        best = torch.full((len(x),), float("-inf"), device=x.device)
        out = torch.zeros(len(x), dtype=torch.int64, device=x.device)
        for g, members in enumerate(self.members):
            rows = torch.nonzero((best_group == g).any(1)).flatten()
            if len(rows) == 0 or len(members) == 0:
                continue
            vals, idx = (x[rows] @ self.centroids[members].T).max(1)
            better = vals > best[rows]
            best[rows[better]], out[rows[better]] = vals[better], members[idx[better]]
        return out


def _best_positive(approx: torch.Tensor, n_keep: int) -> torch.Tensor:
    """Document indices of the best `n_keep` approximate scores over all documents, those above 0 only."""
    n_cand = int(torch.count_nonzero(approx))
    keep = torch.topk(approx, min(n_keep, max(1, n_cand))).indices
    return keep[approx[keep] > 0] if n_cand else keep[:0]


class CentroidIndex:
    backend = "centroid"

    def __init__(self, settings: dict[str, Any]):
        self.settings = {"nlist": 0, "kmeans_iters": 8, "sample_per_centroid": 64, "nprobe": 4,
                         "interaction": 0, "candidates": 128, "residual_bits": 0, "coarse_above": 8192, "coarse_probe": 2, "device": "cpu", **settings}
        self.store: TokenStore | None = None
        self.codec: ResidualCodec | None = None
        self.residuals: np.ndarray | None = None

    @staticmethod
    def auto_nlist(n_tokens: int) -> int:
        return int(2 ** np.floor(np.log2(max(2.0, 4 * np.sqrt(n_tokens)))))  # ~ 4 sqrt(N), a power of two

    def build(self, emb: MultiVectorEmbeddings, ids: list[str], out_dir: Path) -> IndexStats:
        out_dir = Path(out_dir)
        t0 = time.perf_counter()
        device = str(self.settings["device"])
        self.store = TokenStore.write(emb, ids, out_dir)
        n_tok, dim = emb.tokens.shape
        nlist = max(1, min(int(self.settings["nlist"]) or self.auto_nlist(n_tok), n_tok))
        rng = np.random.default_rng(0)
        n_sample = min(n_tok, int(self.settings["sample_per_centroid"]) * nlist)
        sample_rows = np.sort(rng.choice(n_tok, n_sample, replace=False))
        sample = torch.as_tensor(np.asarray(take_rows(emb.tokens, sample_rows), dtype=np.float32), device=device)
        centroids = spherical_kmeans(sample, nlist, int(self.settings["kmeans_iters"]), seed=0)
        bits = int(self.settings["residual_bits"])
        # Lloyd-Max refinement of the residual buckets: read only when set, so settings.json of indexes built
        # without it keeps its keys
        lloyd = int(self.settings.get("residual_lloyd_iters", 0))
        residual_sample = sample - centroids[self._assigner(centroids)(sample)] if bits else None
        codec = ResidualCodec.fit(residual_sample, bits, lloyd) if bits else None
        codes, residuals = self._shared_codes(emb, centroids, codec)
        list_docs, list_offsets = inverted_lists(codes, emb.offsets, nlist)
        _save(out_dir / "codes.npy", codes.astype(np.uint16) if nlist <= 1 << 16 else codes)
        _save(out_dir / "centroids.npy", centroids.cpu().numpy().astype(np.float32))
        _save(out_dir / "list_docs.npy", list_docs)
        _save(out_dir / "list_offsets.npy", list_offsets)
        if codec is not None:
            _save(out_dir / "residuals.npy", residuals)
            _save(out_dir / "residual_cutoffs.npy", codec.cutoffs.cpu().numpy())
            _save(out_dir / "residual_values.npy", codec.values.cpu().numpy())
        write_json(out_dir / "settings.json", {"backend": self.backend, **self.settings, "nlist_used": nlist})
        n_postings = len(list_docs)
        del codes, residuals, list_docs  # search loads its own copies: the build's would double the peak
        self._load_lists(out_dir)
        ram = self.ram_bytes()
        files = ("centroids.npy", "list_docs.npy", "list_offsets.npy", "codes.npy", "residuals.npy",
                 "residual_cutoffs.npy", "residual_values.npy")
        disk = self.store.bytes_on_disk(out_dir) + sum((out_dir / n).stat().st_size for n in files
                                                       if (out_dir / n).is_file())
        return IndexStats(self.backend, vectors=n_tok, items=len(ids), dim=dim, bytes_on_disk=disk,
                          build_seconds=time.perf_counter() - t0,
                          extra={"nlist": nlist, "postings": n_postings,
                                 "bytes_per_token_ram": ram / max(1, n_tok), "bytes_per_token_disk": 2.0 * dim})

    def _assigner(self, centroids: torch.Tensor) -> Any:
        """Exact nearest-centroid assignment, or through a coarse quantizer past `coarse_above` centroids."""
        if len(centroids) > int(self.settings["coarse_above"]):
            return CoarseAssigner(centroids, int(self.settings["coarse_probe"]))
        return lambda x: assign(x, centroids)

    def _shared_codes(self, emb: MultiVectorEmbeddings, centroids: torch.Tensor | None,
                      codec: ResidualCodec | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The nearest centroid of every token and, with a codec, its packed residual, computed in slices
        (million-passage corpora stay in bounded memory). Under torchrun rank 0 sends its centroids and codec,
        each rank encodes its contiguous share of the tokens and rank 0 receives everything (the other ranks get
        None)."""
        group, device = current(), str(self.settings["device"])
        if group.active:
            sent = None if centroids is None else (centroids.cpu().numpy(), codec and (
                codec.bits, codec.cutoffs.cpu().numpy(), codec.values.cpu().numpy()))
            c, k = broadcast(sent, group)
            centroids = torch.as_tensor(c, device=device)
            codec = k and ResidualCodec(k[0], torch.as_tensor(k[1]), torch.as_tensor(k[2]))
        nearest = self._assigner(centroids)
        lo, hi = shard_bounds(len(emb.tokens), group.rank, group.world)
        codes = np.empty(hi - lo, dtype=np.int32)  # 4 B per token: a million passages hold 64M
        residuals = None if codec is None else np.empty((hi - lo, codec.packed_width(emb.tokens.shape[1])), np.uint8)
        for s in range(lo, hi, ASSIGN_SLICE):
            part = emb.tokens[s : min(hi, s + ASSIGN_SLICE)]
            block = torch.as_tensor(np.asarray(part, dtype=np.float32), device=device)
            release(part)  # a memory-mapped corpus: its pages leave this process's RSS once read
            near = nearest(block)
            codes[s - lo : s - lo + len(block)] = near.cpu().numpy()
            if codec is not None:
                residuals[s - lo : s - lo + len(block)] = codec.encode((block - centroids[near]).cpu())
        if not group.active:
            return codes, residuals
        parts = gather_to_main((codes, residuals), group)  # only rank 0 writes the lists
        if not group.main:
            return None, None
        return (np.concatenate([c for c, _ in parts]),
                None if codec is None else np.concatenate([r for _, r in parts]))

    def build_share(self, emb: MultiVectorEmbeddings, ids: list[str]) -> None:
        """A rank other than 0 under torchrun: encode its share of the tokens with rank 0's centroids."""
        self._shared_codes(emb, None, None)

    def ram_bytes(self) -> int:
        """What search holds in memory besides the memory-mapped float16 store."""
        residual = 0 if self.codec is None else (self.residuals.nbytes + self.codec.cutoffs.numel() * 4
                                                 + self.codec.values.numel() * 4)
        return int(self.centroids.numel() * 4 + self.list_docs.numel() * 4 + self.list_offsets.numel() * 8
                   + self.store.offsets.nbytes + self.codes.numel() * self.codes.element_size() + residual)

    def _load_lists(self, folder: Path) -> None:
        device = str(self.settings["device"])
        self.centroids = torch.from_numpy(np.load(folder / "centroids.npy")).to(device)
        self.list_docs = torch.from_numpy(np.load(folder / "list_docs.npy")).to(device)
        self.list_offsets = torch.from_numpy(np.load(folder / "list_offsets.npy")).to(device)
        codes = np.load(folder / "codes.npy")
        # uint16 codes stay 2 bytes per token in RAM, held as an int16 view (torch has no uint16 indexing);
        # `_token_codes` widens the few it reads
        self.codes = torch.from_numpy(codes.view(np.int16) if codes.dtype == np.uint16 else codes).to(device)
        self.token_offsets = torch.from_numpy(self.store.offsets.astype(np.int64)).to(device)
        bits = int(self.settings["residual_bits"])
        if bits and (folder / "residuals.npy").is_file():
            # read into RAM (not mapped): the residuals are the re-rank's data, charged as resident memory
            self.residuals = np.load(folder / "residuals.npy", allow_pickle=False)
            self.codec = ResidualCodec(bits, torch.from_numpy(np.load(folder / "residual_cutoffs.npy")),
                                       torch.from_numpy(np.load(folder / "residual_values.npy")))
        elif bits:
            raise InputError(folder / "residuals.npy", "residual_bits",
                             "the index was built without residuals; rebuild it with residual_bits set")

    @classmethod
    def load(cls, folder: Path, **overrides: Any) -> "CentroidIndex":
        folder = Path(folder)
        settings = json.loads((folder / "settings.json").read_text())
        for key in ("backend", "nlist_used"):
            settings.pop(key, None)
        obj = cls({**settings, **overrides})
        obj.store = TokenStore.read(folder)
        obj._load_lists(folder)
        return obj

    def candidates(self, q: torch.Tensor) -> torch.Tensor:
        """Steps 1-3 (and 3b): document indices of the best `candidates` for one query [Lq, dim]."""
        scores = q @ self.centroids.T
        n_inter = int(self.settings["interaction"])
        if n_inter <= 0:
            return self._probe(q, scores, int(self.settings["candidates"]))
        cand = self._probe(q, scores, n_inter)
        return cand[self._interaction(scores, cand, int(self.settings["candidates"]))]

    def use_fused(self, device: torch.device) -> bool:
        """The candidate stage's kernels (`kernel` setting at load): `auto` takes the fused Triton kernels on CUDA
        when Triton is there, `torch` never, `fused` always (on CPU only under TRITON_INTERPRET=1, for tests)."""
        kernel = str(self.settings.get("kernel", "auto"))
        if kernel not in KERNELS:
            raise InputError("settings.json", "kernel", f"{kernel!r} is not one of {', '.join(KERNELS)}")
        if kernel == "torch":
            return False
        ok = fused_candidates.usable(device)
        if kernel == "fused" and not ok:
            raise InputError("settings.json", "kernel", "'fused' needs Triton and a CUDA device (or "
                             "TRITON_INTERPRET=1 on CPU); Triton ships with CUDA builds of torch")
        return ok and (kernel == "fused" or torch.device(device).type == "cuda")

    def _token_codes(self, rows: torch.Tensor) -> torch.Tensor:
        """Centroid ids (int64) of token rows; uint16 codes are held as an int16 view, widened here."""
        codes = self.codes[rows].long()
        return codes & 0xFFFF if self.codes.dtype == torch.int16 else codes

    def _interaction(self, scores: torch.Tensor, cand: torch.Tensor, keep: int) -> torch.Tensor:
        """3b. Centroid interaction (PLAID's second stage) over the candidates: positions of the best `keep`."""
        return torch.topk(self.interaction_scores(scores, cand), min(keep, len(cand))).indices

    def interaction_scores(self, scores: torch.Tensor, cand: torch.Tensor) -> torch.Tensor:
        """MaxSim with every document token replaced by its centroid, sum_i max_t S[i, code(t)], for documents
        `cand` given S [Lq, nlist]. Their tokens are gathered packed (no padding) as rows of S^T, [tokens, Lq],
        then reduced per document by one scatter-max; an empty document scores 0. The fused kernel gives the
        same maxima without the index tensors."""
        if self.use_fused(scores.device):
            return fused_candidates.interaction_best(scores, self.codes, self.token_offsets, cand).sum(1)
        starts = self.token_offsets[cand]
        lengths = self.token_offsets[cand + 1] - starts
        total = int(lengths.sum())
        doc = torch.repeat_interleave(torch.arange(len(cand), device=cand.device), lengths)
        rows = torch.arange(total, device=cand.device) - torch.repeat_interleave(torch.cumsum(lengths, 0) - lengths,
                                                                                 lengths) + starts[doc]
        per_token = scores.T.contiguous().index_select(0, self._token_codes(rows))  # [tokens, Lq]
        best = torch.full((len(cand), scores.shape[0]), float("-inf"), device=scores.device)
        best.scatter_reduce_(0, doc[:, None].expand(-1, scores.shape[0]), per_token, reduce="amax")
        return torch.where(torch.isfinite(best), best, 0.0).sum(1)

    def _probe(self, q: torch.Tensor, scores: torch.Tensor, n_keep: int) -> torch.Tensor:
        """Steps 2-3: candidate documents from the probed lists, the best `n_keep` by approximate MaxSim."""
        nprobe = min(int(self.settings["nprobe"]), scores.shape[1])
        top_s, top_c = torch.topk(scores, nprobe, dim=1)  # [Lq, nprobe]
        n_docs = len(self.store.ids)
        if q.shape[0] * n_docs <= FUSED_DENSE_LIMIT and self.use_fused(q.device):
            return _best_positive(fused_candidates.probe_best(top_s, top_c, self.list_offsets, self.list_docs,
                                                              n_docs).sum(0), n_keep)
        starts, ends = self.list_offsets[top_c].flatten(), self.list_offsets[top_c + 1].flatten()
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return torch.empty(0, dtype=torch.int64, device=q.device)
        # the postings of every (query token, probed centroid), with that pair's score and query-token row
        seg = torch.repeat_interleave(torch.arange(len(lengths), device=q.device), lengths)
        within = torch.arange(total, device=q.device) - torch.repeat_interleave(torch.cumsum(lengths, 0) - lengths,
                                                                                lengths)
        docs = self.list_docs[starts[seg] + within].long()
        vals = top_s.flatten()[seg].clamp_min(0)
        rows = seg // nprobe
        if q.shape[0] * n_docs <= DENSE_SCORE_LIMIT:
            # small corpora: one dense [query tokens, documents] buffer is cheaper than sorting the postings
            best = torch.zeros(q.shape[0] * n_docs, device=q.device)
            best.scatter_reduce_(0, rows * n_docs + docs, vals, reduce="amax")
            return _best_positive(best.view(q.shape[0], n_docs).sum(0), n_keep)
        cand, local = torch.unique(docs, return_inverse=True)
        best = torch.zeros(q.shape[0] * len(cand), device=q.device)
        best.scatter_reduce_(0, rows * len(cand) + local, vals, reduce="amax")
        approx = best.view(q.shape[0], len(cand)).sum(0)
        keep = torch.topk(approx, min(n_keep, len(cand))).indices
        return cand[keep]

    def rerank(self, q: torch.Tensor, cand: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Step 4: MaxSim of the candidates on their residual-decoded tokens, or exact on the token store."""
        if self.codec is not None:
            rows, lengths = packed_rows(self.store.offsets, cand)
            idx = torch.from_numpy(rows).to(self.codes.device)
            packed = torch.from_numpy(self.residuals[rows]).to(q.device)
            block = self.codec.decode(self.centroids, self._token_codes(idx), packed)
        else:
            block, lengths = gather_packed(self.store.tokens, self.store.offsets, cand)
        scores = maxsim_packed(q, block.to(q.device), lengths)
        top = torch.topk(scores, min(k, len(cand)))
        return top.values.cpu().numpy(), cand[top.indices.cpu().numpy()]

    def search(self, q: MultiVectorEmbeddings, qids: list[str], k: int) -> Run:
        device = str(self.settings["device"])
        run: Run = {}
        with torch.no_grad():
            for i, qid in bar(list(enumerate(qids)), "search", unit="q"):
                qt = torch.as_tensor(np.asarray(q.item(i), dtype=np.float32), device=device)
                cand = np.sort(self.candidates(qt).cpu().numpy())  # sorted rows read the store in file order
                if len(cand) == 0:
                    run[qid] = {}
                    continue
                vals, docs = self.rerank(qt, cand, k)
                run[qid] = {self.store.ids[int(d)]: float(v) for v, d in zip(vals, docs)}
        return run
