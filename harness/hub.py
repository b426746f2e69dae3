"""The one door to the Hugging Face hub. A hub id at a pinned commit becomes a local folder (a snapshot), and every
loader reads local folders only: a hub id and a local copy of the same repository take the same code path after
this point. Unpinned ids are refused, offline use is one line naming the id.

$FLMR_BENCH_HUB_MIRROR names a folder laid out as <repo id>/<commit>/ (a copy of each repository at each pinned
commit): where it is set, snapshots and commits come from it instead of the network, for machines without the
hub and for the tests that run the hub pipelines on miniatures in the hub's own layouts."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from harness.errors import InputError

SHA = re.compile(r"^[0-9a-f]{40}$")
MIRROR_ENV = "FLMR_BENCH_HUB_MIRROR"
LOCAL_SOURCES = ("tiny", "minilm")  # built or shipped offline, never fetched
# what a model snapshot needs: configs, tokenizers, safetensors weights (a .bin is never fetched: not unpickled)
MODEL_FILES = ["*.json", "*.txt", "*.model", "*.safetensors"]


def is_hub_id(source: Any) -> bool:
    """A source that names a hub repository: not a built-in source and not an existing local path."""
    return isinstance(source, str) and source not in LOCAL_SOURCES and not Path(source).exists()


def is_pinned(revision: Any) -> bool:
    return bool(revision) and bool(SHA.match(str(revision)))


def mirror_root() -> Path | None:
    """The mirror folder in use, if any."""
    root = os.environ.get(MIRROR_ENV)
    return Path(root) if root else None


def _reason(exc: Exception) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__


def snapshot(repo_id: str, revision: Any, *, where: tuple[Any, str], repo_type: str = "model",
             allow_patterns: list[str] | None = None, local_dir: Path | None = None) -> Path:
    """The local folder holding `repo_id` at commit `revision` (downloaded, resumable, into the hub cache or
    `local_dir`). `where` = (file, field) that named it, for the one-line errors."""
    if not is_pinned(revision):
        raise InputError(where[0], where[1], f"hub id {repo_id!r} needs a pinned 40-hex commit sha, got {revision!r} "
                         "(`python -m harness --params <params> pin` writes them where the hub is reachable)")
    patterns = allow_patterns if allow_patterns is not None else (MODEL_FILES if repo_type == "model" else None)
    mirror = mirror_root()
    if mirror is not None:
        folder = mirror / repo_id / str(revision)
        if not folder.is_dir():
            raise InputError(where[0], where[1], f"{repo_id}@{str(revision)[:12]} is not in the mirror {mirror} "
                             f"(${MIRROR_ENV})")
        if local_dir is None:
            return folder
        shutil.copytree(folder, local_dir, dirs_exist_ok=True)
        return Path(local_dir)
    advice = "; point `source` at a local copy of the repository instead" if repo_type == "model" else ""
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise InputError(where[0], where[1], f"cannot download {repo_id}@{str(revision)[:12]} (HF_HUB_OFFLINE=1 "
                         f"keeps the hub out of reach){advice}")
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # its retry warnings would bury the one line below
        path = snapshot_download(repo_id=repo_id, repo_type=repo_type, revision=str(revision),
                                 allow_patterns=patterns, local_dir=str(local_dir) if local_dir else None)
    except Exception as exc:  # offline, DNS, HTTP or auth errors all end the same way
        raise InputError(where[0], where[1], f"cannot download {repo_id}@{str(revision)[:12]} "
                         f"({_reason(exc)}){advice}") from None
    return Path(path)


def local_folder(spec: dict[str, Any], where: tuple[Any, str]) -> str:
    """`spec['source']` as something `from_pretrained` reads without the network: built-in sources and local paths
    as they are, a hub id as the folder of its pinned snapshot."""
    source = spec.get("source", "tiny")
    if not is_hub_id(source):
        return source
    return str(snapshot(source, spec.get("revision"), where=where))


def resolve_commit(repo_id: str, repo_type: str = "model", where: tuple[Any, str] = ("params", "revision")) -> str:
    """The commit the hub (or the mirror) serves for `repo_id` now."""
    mirror = mirror_root()
    if mirror is not None:
        found = sorted(p.name for p in (mirror / repo_id).glob("*") if p.is_dir() and SHA.match(p.name))
        if len(found) != 1:
            raise InputError(where[0], where[1], f"the mirror {mirror} holds {len(found)} commits of {repo_id}, "
                             "need exactly one to resolve")
        return found[0]
    try:
        from huggingface_hub import HfApi
        from huggingface_hub.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        info = HfApi().dataset_info(repo_id) if repo_type == "dataset" else HfApi().model_info(repo_id)
        return str(info.sha)
    except Exception as exc:  # offline, DNS, HTTP or auth errors all end the same way
        raise InputError(where[0], where[1], f"cannot resolve {repo_id} on the hub ({_reason(exc)}); run "
                         "`python -m harness pin` where the hub is reachable") from None
