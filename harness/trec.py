"""TREC run files: `qid Q0 pid rank score tag`, scores written in full precision so rankings survive a round trip."""

from __future__ import annotations

from pathlib import Path

from harness.api import Run
from harness.atomic import write_text
from harness.errors import InputError
from harness.metrics.retrieval import rank


def write_run(path: str | Path, run: Run, tag: str) -> None:
    lines = []
    for qid, ranked in rank(run).items():
        for r, pid in enumerate(ranked, start=1):
            lines.append(f"{qid} Q0 {pid} {r} {run[qid][pid]!r} {tag}\n")
    write_text(path, "".join(lines))


def read_run(path: str | Path) -> Run:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "-", "file not found")
    run: Run = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 6:
            raise InputError(path, "-", f"expected 6 columns (qid Q0 pid rank score tag), got {len(parts)}", line=n)
        try:
            score = float(parts[4])
        except ValueError:
            raise InputError(path, "score", f"not a number: {parts[4]!r}", line=n) from None
        run.setdefault(parts[0], {})[parts[2]] = score
    return run
