"""`python -m harness repro-all`: regenerate every table that runs offline, one pipeline after another, and
say how long each took. Pipelines that need the hub or a GPU (`requires` in their params) are left to their
own command, as are those whose user-supplied input is absent (the A-OKVQA val file); each is named with the
reason in one line, never skipped silently."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from harness import dvcfile
from harness.errors import InputError
from harness.data.provided import missing_input
from harness.params import load_params
from harness.studies import STUDIES_DVC


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


def stale_stages(p: dvcfile.Pipeline) -> dict[str, list[str]]:
    """{stage: why} for every stage `dvc repro` would run first: changed code, params or inputs, or missing
    outputs (a fresh clone has none), its dataset's fetch and prepare stages included. From `dvc status`, since `dvc repro --dry` stops on a missing dependency
    (treeverse/dvc#9818); stages downstream of these run too when their outputs change."""
    out = subprocess.run([sys.executable, "-m", "dvc", "status", "--json", "--with-deps", p.dvc_file], cwd=dvcfile.ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise InputError(p.dvc_file, "-", f"dvc status failed: {out.stderr.strip().splitlines()[-1:]}")
    status = json.loads(out.stdout or "{}")
    why: dict[str, list[str]] = {}
    for stage, changes in status.items():
        for change in changes if isinstance(changes, list) else [changes]:
            for kind, items in (change.items() if isinstance(change, dict) else [(str(change), {})]):
                named = [f"{k} {v}" for k, v in sorted(items.items())] if isinstance(items, dict) else [str(items)]
                shown = ", ".join(named[:3]) + (f" and {len(named) - 3} more" if len(named) > 3 else "")
                why.setdefault(stage.split(":")[-1], []).append(f"{kind}: {shown}")
    return why


def dry_run(chosen: list[dvcfile.Pipeline]) -> int:
    for p in chosen:
        stale = stale_stages(p)
        print(f"== {p.name}: {len(stale)} stages would run first" if stale else f"== {p.name}: up to date")
        for stage, reasons in stale.items():
            print(f"  {stage}: {'; '.join(reasons)}")
    return 0


def repro_all(names: list[str] | None = None, dry: bool = False) -> int:
    runnable, elsewhere = offline_pipelines()
    if names:
        chosen = [dvcfile.get(n) for n in names]
    else:
        chosen = runnable
        for p, why in elsewhere:
            print(f"not run here: {p.name}: {why}")
    if dry:
        return dry_run(chosen)
    times = []
    for p in chosen:
        t0 = time.perf_counter()
        print(f"== {p.name}: dvc repro {p.dvc_file}", flush=True)
        rc = subprocess.call([sys.executable, "-m", "dvc", "repro", p.dvc_file], cwd=dvcfile.ROOT)
        times.append((p.name, time.perf_counter() - t0, rc))
        if rc != 0:
            break
    if not names and all(rc == 0 for *_, rc in times):  # then the study tables over them (studies/dvc.yaml)
        t0 = time.perf_counter()
        print(f"== studies: dvc repro --single-item {STUDIES_DVC}", flush=True)
        rc = subprocess.call([sys.executable, "-m", "dvc", "repro", "--single-item", STUDIES_DVC], cwd=dvcfile.ROOT)
        times.append(("studies", time.perf_counter() - t0, rc))
    for name, seconds, rc in times:
        print(f"{name}: {seconds / 60:.1f} min{'' if rc == 0 else f' (failed, exit {rc})'}")
    return max((rc for _, _, rc in times), default=0)


if __name__ == "__main__":
    sys.exit(repro_all(sys.argv[1:]))
