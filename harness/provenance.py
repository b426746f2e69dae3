"""Where a result came from: git commit and dirty flag, hashes of params, data and model, library versions, device."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from harness.errors import InputError

ALLOW_DIRTY_ENV = "FLMR_BENCH_ALLOW_DIRTY"
LIBRARIES = ("torch", "transformers", "faiss-cpu", "faiss-gpu-cu12", "numpy", "bm25s", "dvc", "flmr-bench")
# The locked environments (README: "The locked environment"): exact versions of every installed package.
LOCKS = (Path(__file__).resolve().parent.parent / "locks" / "cpu.txt",
         Path(__file__).resolve().parent.parent / "locks" / "gpu.txt")


def _is_output(path: str) -> bool:
    """Files the pipelines themselves rewrite (results, DVC lock files) do not make the code dirty."""
    return path.startswith("results/") or path == "dvc.lock" or path.endswith("/dvc.lock")


def git_state(repo: Path | None = None) -> dict[str, Any]:
    """HEAD's commit and whether the tree differs from it: modified or untracked (not ignored) files, pipeline
    outputs aside. No git (a copied project): sha and dirty are None."""
    repo = repo or Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=repo,
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return {"sha": None, "dirty": None}
    if sha.returncode != 0 or status.returncode != 0:
        return {"sha": None, "dirty": None}
    changed = [line[3:].strip('"') for line in status.stdout.splitlines() if line.strip()]
    changed = [c.split(" -> ")[-1] for c in changed if not _is_output(c.split(" -> ")[-1])]
    state: dict[str, Any] = {"sha": sha.stdout.strip(), "dirty": bool(changed)}
    if changed:
        state["changed"] = changed[:10]
    return state


def allow_dirty() -> bool:
    return os.environ.get(ALLOW_DIRTY_ENV, "") not in ("", "0")


def experiment() -> dict[str, str] | None:
    """The DVC experiment this stage runs in (`dvc exp run` sets these for its stages), if any."""
    name = os.environ.get("DVC_EXP_NAME")
    return {"name": name, "baseline": os.environ.get("DVC_EXP_BASELINE_REV", "")} if name else None


def require_clean_tree(repo: Path | None = None) -> dict[str, Any]:
    """A stage writes records and tables only from committed code, unless dirty runs are allowed (and then
    the record says so). A DVC experiment (`dvc exp run -S key=value`) changes params.yaml by design: it is
    allowed, and its records name the experiment and say the tree was dirty."""
    state = git_state(repo)
    exp = experiment()
    if exp is not None:
        return {**state, "allow_dirty": bool(state["dirty"]), "experiment": exp}
    if state["dirty"] and not allow_dirty():
        shown = ", ".join(state["changed"][:3]) + (" ..." if len(state["changed"]) > 3 else "")
        raise InputError("working tree", "git", f"uncommitted changes ({shown}): a number must come from committed "
                         f"code; commit first, or pass --allow-dirty ({ALLOW_DIRTY_ENV}=1) and the record says so")
    return {**state, "allow_dirty": bool(state["dirty"])}


def sha256_file(path: Path) -> str:
    """sha256 of one file, read in blocks (data files can be large)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def hash_files(paths: list[Path]) -> str:
    """sha256 over the files' relative names and bytes, in sorted order (folders are walked)."""
    h = hashlib.sha256()
    files: list[tuple[str, Path]] = []
    for root in paths:
        root = Path(root)
        if root.is_dir():
            files += [(str(f.relative_to(root.parent)), f) for f in root.rglob("*") if f.is_file()]
        elif root.is_file():
            files.append((root.name, root))
    for name, f in sorted(files):
        h.update(name.encode())
        with f.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def read_lock(path: Path) -> dict[str, str]:
    """{package: version} from a lock file's `name==version` lines (comments and blank lines skipped)."""
    pins = {}
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep or not name.strip() or not version.strip():
            raise InputError(path, f"line {n}", f"expected `name==version`, got {line!r}")
        pins[name.strip()] = version.strip()
    return pins


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def lock_differences(pins: dict[str, str]) -> list[str]:
    """Pinned packages whose installed version is another (a local label such as +cpu is a build, not a version)."""
    out = []
    for name, want in sorted(pins.items()):
        got = _installed(name)
        if got is None or got.split("+", 1)[0] != want.split("+", 1)[0]:
            out.append(f"{name} {got or 'missing'} (lock {want})")
    return out


def locked_environments() -> dict[str, dict[str, str]]:
    """{lock name: pins}: the CPU lock, and the GPU lock as it is installed (locks/gpu.txt on top of the CPU lock,
    faiss-gpu in place of faiss-cpu)."""
    cpu_path, gpu_path = LOCKS
    if not cpu_path.is_file():
        return {}
    cpu = read_lock(cpu_path)
    out = {"locks/cpu.txt": cpu}
    if gpu_path.is_file():
        out["locks/gpu.txt"] = {**{k: v for k, v in cpu.items() if k != "faiss-cpu"}, **read_lock(gpu_path)}
    return out


def lock_state() -> dict[str, Any]:
    """Which lock this environment was installed from: the one it differs least from, its sha256 and the
    packages that differ (none when the environment is the lock)."""
    best: dict[str, Any] = {"file": None, "sha256": None, "differs": ["no lock file found"], "matches": False}
    for name, pins in locked_environments().items():
        differs = lock_differences(pins)
        if best["file"] is None or len(differs) < len(best["differs"]):
            path = LOCKS[0].parent / Path(name).name
            best = {"file": name, "sha256": sha256_file(path), "differs": differs[:20], "matches": not differs}
    return best


def library_versions() -> dict[str, Any]:
    out: dict[str, Any] = {"python": platform.python_version()}
    for lib in LIBRARIES:
        version = _installed(lib)
        if version is not None:
            out[lib] = version
    out["lock"] = lock_state()
    return out


def cpu_model() -> str:
    """The processor's name (Linux), else the architecture: CPU kernels are chosen per processor, so float results
    of the same code and lock may differ between processor families (README, "The locked environment")."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_kernels() -> dict[str, Any]:
    """What picks the CPU kernels: the processor, torch's vector width, MKL's and oneDNN's code branches, the
    thread count (harness/kernels.py pins all but the first)."""
    return {"cpu_model": cpu_model(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "mkl_cbwr": os.environ.get("MKL_CBWR"), "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
            "torch_threads": torch.get_num_threads()}


def device_info(device: str) -> dict[str, Any]:
    info: dict[str, Any] = {"device": device, "cpu": platform.processor() or platform.machine(), **cpu_kernels()}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


if __name__ == "__main__":  # `python -m harness.provenance --check-lock`: is this environment a lock? (make install)
    import sys

    state = lock_state()
    if not state["matches"]:
        sys.exit(f"error: the environment differs from {state['file']}: {', '.join(state['differs'])}")
    print(f"environment = {state['file']} (sha256 {state['sha256'][:12]})")
