"""Where a result came from: git commit and dirty flag, hashes of params, data and model, library versions, device."""

from __future__ import annotations

import hashlib
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

LIBRARIES = ("torch", "transformers", "faiss-cpu", "faiss-gpu-cu12", "numpy", "bm25s", "dvc", "flmr-bench")


def git_state(repo: Path | None = None) -> dict[str, Any]:
    repo = repo or Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return {"sha": None, "dirty": None}
    if sha.returncode != 0:
        return {"sha": None, "dirty": None}
    return {"sha": sha.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


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


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            continue
    return out


def device_info(device: str) -> dict[str, Any]:
    info: dict[str, Any] = {"device": device, "cpu": platform.processor() or platform.machine(),
                            "torch_threads": torch.get_num_threads()}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
