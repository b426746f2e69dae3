"""What pinning torch's CPU kernels costs: a MiniLM-sized BERT (6 layers, 384 wide) forward + backward on 16 x 64
tokens, timed in a fresh process per setting (the settings are read when torch and MKL first compute), beside a
digest of its outputs and gradients. `auto` is every library's own choice for this processor; `harness` is the
choice the harness pins (harness/kernels.py: MKL's AVX2 branch, torch's AVX2 width, oneDNN's AVX2); the
`mkl_compatible` rows are MKL's SSE2 branch, the slowest and most portable. Equal digests mean equal floats.
Ratios are against `auto`, measured in the same run (README, "The locked environment").

    python benchmarks/cpu_kernels.py --out results/bench/cpu_kernels.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from harness.atomic import write_json  # noqa: E402
from harness.kernels import KERNEL_ENV  # noqa: E402
from harness.provenance import cpu_model  # noqa: E402

SETTINGS = {
    "auto": {},
    "harness": dict(KERNEL_ENV),
    "mkl_compatible+avx2": {"MKL_CBWR": "COMPATIBLE", "ATEN_CPU_CAPABILITY": "avx2"},
    "mkl_compatible+default": {"MKL_CBWR": "COMPATIBLE", "ATEN_CPU_CAPABILITY": "default"},
}
# run in the child: the environment above must be set before torch loads
CHILD = """
import hashlib, json, time, torch
from transformers import BertConfig, BertModel
torch.manual_seed(0); torch.set_num_threads(2)
m = BertModel(BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536))
x = torch.randint(0, 30000, (16, 64))
m(input_ids=x).last_hidden_state.pow(2).mean().backward()  # warm-up
m.zero_grad()
times = []
for _ in range({steps}):
    t = time.perf_counter()
    out = m(input_ids=x).last_hidden_state
    out.pow(2).mean().backward()
    times.append(time.perf_counter() - t)
g = torch.cat([p.grad.flatten() for p in m.parameters() if p.grad is not None])
digest = hashlib.sha256(out.detach().numpy().tobytes() + g.numpy().tobytes()).hexdigest()[:12]
print(json.dumps({{"median_s": sorted(times)[len(times) // 2], "digest": digest,
                  "capability": torch.backends.cpu.get_cpu_capability()}}))
"""


def run(name: str, steps: int) -> dict:
    unpinned = {k: v for k, v in os.environ.items() if k not in KERNEL_ENV}  # importing harness pinned this process
    env = {**unpinned, **SETTINGS[name]}
    out = subprocess.run([sys.executable, "-c", CHILD.format(steps=steps)], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    rows = {name: run(name, args.steps) for name in SETTINGS}
    base = rows["auto"]["median_s"]
    print(f"{cpu_model()}, 2 threads, {args.steps} steps per setting")
    print(f"{'setting':26} {'ms/step':>8} {'x auto':>7}  capability  digest")
    for name, r in rows.items():
        r["ratio_to_auto"] = r["median_s"] / base
        print(f"{name:26} {1000 * r['median_s']:8.0f} {r['ratio_to_auto']:7.2f}  {r['capability']:10}  {r['digest']}")
    if args.out:
        write_json(args.out, {"cpu_model": cpu_model(), "steps": args.steps, "settings": SETTINGS, "results": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
