"""Does a fresh clone reproduce the committed numbers? Clones HEAD into a temporary folder, runs what `make repro`
runs there (`dvc repro` of the embedded default, or of --pipeline, then `python -m harness site`) with this
environment, and lists every tracked file the run rewrote. Machine-dependent files (latency tables, wall-time
records, the full run records) may change; anything else that changed is a number the committed code does not
make, and the exit status is 1. About 12 minutes for the embedded default on 2 cores."""

from __future__ import annotations

import argparse
import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from harness.provenance import cpu_kernels  # noqa: E402
from harness.kernels import pinned_threads  # noqa: E402
from harness.studies import STUDIES_DVC  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# what differs between two runs of the same code by nature: wall times, latency, the commit and machine that ran it
MACHINE_DEPENDENT = ("results/*/latency.md", "results/*/latency.csv", "results/*/timings/*",
                     "results/*/runs/*/*/run.json", "results/*/runs/*/*/vqa_provenance.json",
                     "results/*/vqa_bounds/*/vqa_provenance.json", "results/*/plots/scaling_latency*.png",
                     "results/index.html")


def sh(args: list[str], cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1"}
    env.pop("FLMR_BENCH_ALLOW_DIRTY", None)  # the clone is clean: nothing needs the exemption
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"check-repro: `{' '.join(args)}` failed in {cwd}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return out.stdout


def committed_cpus(clone: Path) -> list[str]:
    """The processors the committed run records name (records before cpu_model was recorded: their `cpu`)."""
    import json

    cpus = set()
    for record in clone.glob("results/*/runs/*/*/run.json"):
        device = json.loads(record.read_text(encoding="utf-8")).get("provenance", {}).get("device", {})
        cpus.add(f"{device.get('cpu_model') or device.get('cpu', '?')} ({device.get('cpu_capability', '?')})")
    return sorted(cpus)


def changed_files(clone: Path) -> list[str]:
    status = sh(["git", "status", "--porcelain", "--untracked-files=no"], clone)
    return sorted(line[3:] for line in status.splitlines() if line.strip())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pipeline", default="dvc.yaml", help="the dvc.yaml to reproduce (default: the embedded default)")
    ap.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="flmr-check-repro-"))
    clone = work / "clone"
    try:
        sh(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], work)
        print(f"check-repro: {sh(['git', 'rev-parse', 'HEAD'], clone).strip()} cloned into {clone}", flush=True)
        here = cpu_kernels()
        print(f"check-repro: this machine: {here['cpu_model']} ({here['cpu_capability']}, MKL_CBWR="
              f"{here['mkl_cbwr']}, {pinned_threads()} threads); committed records from: "
              f"{', '.join(committed_cpus(clone))}", flush=True)
        sh(["dvc", "repro", args.pipeline], clone)
        sh(["dvc", "repro", "--single-item", STUDIES_DVC], clone)  # the study tables over it
        sh([sys.executable, "-m", "harness", "site"], clone)
        changed = changed_files(clone)
        expected = [f for f in changed if any(fnmatch.fnmatch(f, pat) for pat in MACHINE_DEPENDENT)]
        wrong = [f for f in changed if f not in expected]
        print(f"check-repro: {len(changed)} tracked files rewritten, {len(expected)} machine-dependent")
        for f in wrong:
            print(f"  differs: {f}")
        print("check-repro: " + ("every committed number reproduced" if not wrong else
                                 f"{len(wrong)} files differ from what the committed code makes on this machine "
                                 "(float results can differ between processor families: README, \"The locked "
                                 "environment\")"))
        return 1 if wrong else 0
    finally:
        if args.keep:
            print(f"check-repro: clone kept at {clone}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
