"""`python -m harness repro-all`: regenerate every table that runs offline, one pipeline after another, and
say how long each took. Pipelines that need the hub or a GPU (`requires` in their params) are left to their
own command, as are those whose user-supplied input is absent (the A-OKVQA val file); each is named with the
reason in one line, never skipped silently."""

from __future__ import annotations

import subprocess
import sys
import time

from harness import dvcfile
from harness.data.provided import missing_input
from harness.params import load_params


def in_dependency_order(pipelines: list[dvcfile.Pipeline]) -> list[dvcfile.Pipeline]:
    """Pipelines whose runs evaluate another pipeline's models (`from:`) after that pipeline, so each
    table's time is its own (DVC would otherwise run the upstream training inside the first one)."""
    names = {p.name: p for p in pipelines}
    sources = {p.name: {run.get("from") for run in load_params(dvcfile.ROOT / p.params_file)["runs"].values()}
               - {None, p.name} for p in pipelines}
    ordered: list[dvcfile.Pipeline] = []

    def visit(name: str, trail: tuple[str, ...] = ()) -> None:
        if name in trail or names[name] in ordered:
            return
        for src in sorted(sources[name] & set(names)):
            visit(src, (*trail, name))
        ordered.append(names[name])

    for p in pipelines:
        visit(p.name)
    return ordered


def offline_pipelines() -> tuple[list[dvcfile.Pipeline], list[tuple[dvcfile.Pipeline, str]]]:
    """The pipelines this machine can run, in dependency order, and the others with the reason in one line."""
    runnable, elsewhere = [], []
    for p in dvcfile.discover():
        params = load_params(dvcfile.ROOT / p.params_file)
        needs, missing = params.get("requires", []), missing_input(params)
        if needs:
            elsewhere.append((p, f"needs {' and '.join(needs)} (dvc repro {p.dvc_file} where it has them)"))
        elif missing:
            elsewhere.append((p, missing))
        else:
            runnable.append(p)
    return in_dependency_order(runnable), elsewhere


def repro_all(names: list[str] | None = None, dry: bool = False) -> int:
    runnable, elsewhere = offline_pipelines()
    if names:
        chosen = [dvcfile.get(n) for n in names]
    else:
        chosen = runnable
        for p, why in elsewhere:
            print(f"not run here: {p.name}: {why}")
    times = []
    for p in chosen:
        t0 = time.perf_counter()
        print(f"== {p.name}: dvc repro {p.dvc_file}", flush=True)
        rc = subprocess.call(["dvc", "repro", *(["--dry"] if dry else []), p.dvc_file], cwd=dvcfile.ROOT)
        times.append((p.name, time.perf_counter() - t0, rc))
        if rc != 0:
            break
    for name, seconds, rc in times:
        print(f"{name}: {seconds / 60:.1f} min{'' if rc == 0 else f' (failed, exit {rc})'}")
    return max((rc for _, _, rc in times), default=0)


if __name__ == "__main__":
    sys.exit(repro_all(sys.argv[1:]))
