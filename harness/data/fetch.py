"""fetch: download what a profile needs from the Hugging Face hub, at the card's pinned revision, into
downloads/<card name>/, then verify the files' sha256 (where the card lists them) and the row counts. Downloads
resume where a killed run stopped (huggingface_hub keeps partial files). A profile that needs nothing from the
hub (toy, okvqa_mini) writes only the record. Hub access happens here and nowhere else."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from harness.atomic import write_json, write_text
from harness.data.corpora import HUB_CORPORA
from harness.errors import InputError
from harness.provenance import sha256_file

SHA = re.compile(r"^[0-9a-f]{40}$")


def read_card(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(path, "-", "dataset card not found")
    card = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(card, dict):
        raise InputError(path, "-", "must be a mapping")
    return card


def needed(params: dict[str, Any]) -> list[tuple[Path, dict[str, Any]]]:
    """(card path, hub source) for every hub download this profile's dataset and corpus need."""
    ds = params["dataset"]
    out = []
    okvqa = ds.get("okvqa") or {}
    if ds.get("source") == "okvqa" and okvqa.get("source") == "hub":
        card = Path(okvqa.get("card", "datasets/okvqa/card.yaml"))
        out.append((card, {**read_card(card)["sources"]["hub"], **{k: okvqa[k] for k in ("revision", "local")
                                                                     if k in okvqa}}))
    corpus = ds.get("corpus") or {}
    if ds.get("source") == "okvqa" and corpus.get("name") in HUB_CORPORA:
        card = Path(f"datasets/{corpus['name']}/card.yaml")
        data = read_card(card)
        out.append((card, {**data["source"], "expected_counts": data.get("expected_counts", {}),
                           **{k: corpus[k] for k in ("revision", "local") if k in corpus}}))
    return out


def download(card: Path, src: dict[str, Any]) -> Path:
    repo, revision = src["repo"], src.get("revision")
    folder = Path(src.get("local") or f"downloads/{card.parent.name}")
    if not revision or not SHA.match(str(revision)):
        raise InputError(card, "source.revision", f"{repo} needs a pinned 40-hex commit sha, got {revision!r}")
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # its retry warnings would bury the one line below
        snapshot_download(repo_id=repo, repo_type="dataset", revision=revision, local_dir=str(folder),
                          allow_patterns=src.get("allow_patterns"))
    except Exception as exc:  # offline, DNS, HTTP or auth errors all end the same way
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise InputError(card, "source.repo", f"cannot download {repo}@{revision[:12]} ({reason}); copy its "
                                              f"parquet files into {folder}/ (or set `local` to a copy) and "
                                              "run again: files already there are verified, not fetched") from None
    return folder


def verify(card: Path, src: dict[str, Any], folder: Path) -> dict[str, Any]:
    import pyarrow.parquet as pq

    files = {}
    for rel, expected in (src.get("sha256") or {}).items():
        f = folder / rel
        if not f.is_file():
            raise InputError(card, f"source.sha256.{rel}", f"file missing from {folder}")
        got = sha256_file(f)
        if got != expected:
            raise InputError(f, "sha256", f"is {got[:12]}..., the card pins {expected[:12]}... (damaged or other revision)")
        files[rel] = got
    counts = {}
    for split, expected in (src.get("expected_counts") or {}).items():
        from harness.data.sources import split_files

        found = split_files(folder, split)
        if not found:
            continue
        n = sum(pq.read_metadata(f).num_rows for f in found)
        if expected is not None and n != int(expected):
            raise InputError(card, f"expected_counts.{split}", f"found {n} rows in {folder}, the card expects {expected}")
        counts[split] = n
    return {"repo": src.get("repo"), "revision": src.get("revision"), "folder": str(folder), "sha256": files,
            "counts": counts}


COMPLETE = ".verified.json"  # written into a download folder once it passed verification


def fetch(params: dict[str, Any], out: Path) -> dict[str, Any]:
    """A folder that passed verification before is kept; otherwise download (resuming a killed download);
    where the hub cannot be reached but a copy is already in place, the copy is verified instead."""
    record: dict[str, Any] = {"dataset": params["dataset"]["name"], "downloads": []}
    for card, src in needed(params):
        folder = Path(src.get("local") or f"downloads/{card.parent.name}")
        how = "verified before"
        if not (folder / COMPLETE).is_file():
            try:
                download(card, src)
                how = "downloaded"
            except InputError:
                if not (folder.is_dir() and any(folder.rglob("*.parquet"))):
                    raise
                how = "local copy (hub not reached)"
        checked = verify(card, src, folder)
        write_json(folder / COMPLETE, checked)
        record["downloads"].append({"card": str(card), "how": how, **checked})
    write_json(out, record)
    return record


def _pin_in_card(card: Path, repo: str, sha: str) -> None:
    """Replace the `revision:` line that follows `repo: <repo>` in the card, keeping its layout and comments."""
    lines = card.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(rf"^\s*repo:\s*{re.escape(repo)}\s*(#.*)?$", line)), None)
    for i in range(start + 1 if start is not None else len(lines), len(lines)):
        m = re.match(r"^(\s*revision:\s*)(\S+)(.*)$", lines[i].rstrip("\n"))
        if m:
            lines[i] = f"{m.group(1)}{sha}   # resolved by `python -m harness fetch --resolve`\n"
            write_text(card, "".join(lines))
            return
    raise InputError(card, "source.revision", f"no `revision:` line after `repo: {repo}` to pin")


def resolve_revisions(params: dict[str, Any]) -> list[str]:
    """Pin every card this pipeline needs whose revision is null to the commit the hub serves now, so every
    later fetch is pinned. Needs the hub; offline it is one line naming the repository."""
    done = []
    for card, src in needed(params):
        repo, revision = src["repo"], src.get("revision")
        if revision and SHA.match(str(revision)):
            done.append(f"{card}: {repo} already pinned at {revision}")
            continue
        try:
            from huggingface_hub import HfApi
            from huggingface_hub.utils import logging as hf_logging

            hf_logging.set_verbosity_error()
            sha = HfApi().dataset_info(repo).sha
        except Exception as exc:  # offline, DNS, HTTP or auth errors all end the same way
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise InputError(card, "source.revision", f"cannot resolve {repo} on the hub ({reason}); run "
                             "`python -m harness fetch --resolve` where the hub is reachable") from None
        _pin_in_card(card, repo, sha)
        done.append(f"{card}: {repo} pinned at {sha}")
    return done or ["nothing to resolve: this pipeline needs nothing from the hub"]
