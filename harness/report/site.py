"""`python -m harness site`: one static page, results/index.html, written from every pipeline's long tables:
each table (sortable by a click on its header), its plots inline, and its provenance (the commits that made
its records, the command that regenerates it). It also copies each pipeline's summary table into the README
between `<!-- table: PATH -->` and `<!-- /table -->`, so the README quotes what is committed."""

from __future__ import annotations

import hashlib
import html
import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import yaml

from harness import dvcfile
from harness.studies import STUDIES_DVC, discover as discover_studies
from harness.atomic import write_text
from harness.params import load_params
from harness.errors import InputError
from harness.report.tables import (display_frame, latency_wide, main_table, mark_significance, significance_note,
                                   write_latency)

ROOT = dvcfile.ROOT
README_BLOCK = re.compile(r"(<!-- table: (?P<path>\S+) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)

_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(table => table.querySelectorAll('thead th').forEach(th =>
  th.addEventListener('click', () => {
    const col = th.cellIndex, body = table.tBodies[0], rows = Array.from(body.rows), asc = th.dataset.asc !== '1';
    const key = r => { const t = (r.cells[col] ? r.cells[col].textContent : '').replace(/,/g, '').trim();
                       const n = parseFloat(t); return isNaN(n) ? t : n; };
    rows.sort((a, b) => { const x = key(a), y = key(b);
      const c = typeof x === typeof y ? (x > y ? 1 : x < y ? -1 : 0) : (typeof x === 'number' ? -1 : 1);
      return c * (asc ? 1 : -1); });
    th.dataset.asc = asc ? '1' : '0'; rows.forEach(r => body.appendChild(r));
  })));
"""


def _table_html(df: pd.DataFrame) -> str:
    """A sortable table (each table sorts on its own columns) in a box that scrolls sideways when wide."""
    table = df.to_html(index=False, classes="sortable", border=0, na_rep="-", float_format=lambda v: f"{v:,.2f}")
    return f"<div class='scroll'>{table}</div>"


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _commits(results: Path) -> list[str]:
    """The commits that made the records, each with its date."""
    shas: set[tuple[str, bool]] = set()
    for f in sorted([*results.glob("runs/**/run.json"), *results.glob("**/vqa_provenance.json")]):
        record = json.loads(f.read_text(encoding="utf-8"))
        git = record["provenance"]["git"] if "provenance" in record else record.get("git", {})
        shas.add((git.get("sha") or "no git", bool(git.get("dirty"))))
    out = []
    for sha, dirty in sorted(shas):
        date = _git("log", "-1", "--format=%cs", sha) if sha != "no git" else None
        out.append(f"<code>{sha[:12]}</code>{' (dirty)' if dirty else ''}{f' of {date}' if date else ''}")
    return out


def _made_before_the_lock(results: Path) -> int:
    """How many run records name no lock (made before locks/ existed)."""
    count = 0
    for f in results.glob("runs/**/run.json"):
        libraries = json.loads(f.read_text(encoding="utf-8"))["provenance"].get("libraries", {})
        count += "lock" not in libraries
    return count


def stale_code(dvc_file: Path) -> list[str]:
    """Code files whose bytes differ from what the pipeline's lock recorded: the tables may be stale (what
    `dvc status` would list as changed deps, without needing the pipeline's outputs here)."""
    lock = dvc_file.with_name("dvc.lock")
    if not lock.is_file():
        return []
    changed = set()
    for stage in (yaml.safe_load(lock.read_text(encoding="utf-8")) or {}).get("stages", {}).values():
        for dep in stage.get("deps", []):
            f = ROOT / dep["path"]
            if dep["path"].endswith(".py") and f.is_file() and hashlib.md5(f.read_bytes()).hexdigest() != dep.get("md5"):
                changed.add(dep["path"])
    return sorted(changed)


def _section(p: dvcfile.Pipeline) -> str | None:
    params = load_params(ROOT / p.params_file)
    results = ROOT / "results" / params["profile"]
    if not (results / "long.csv").is_file():
        return None
    long = pd.read_csv(results / "long.csv")
    command = "dvc repro" if p.overrides_file is None else f"dvc repro {p.dvc_file}"
    stale = stale_code(ROOT / p.dvc_file)
    parts = [f"<h2 id='{html.escape(p.name)}'>{html.escape(params['profile'])}</h2>",
             f"<p>Regenerate: <code>{html.escape(command)}</code> &middot; params: <code>{p.params_file}</code> "
             f"&middot; records made by commit {', '.join(_commits(results))}</p>"]
    unlocked = _made_before_the_lock(results)
    if unlocked:
        parts.append(f"<p class='stale'>{unlocked} records were made before the locked environment "
                     "(locks/cpu.txt) existed and have not been regenerated under it: a fresh install may not "
                     "reproduce them exactly.</p>")
    if stale:
        parts.append(f"<p class='stale'>Stale: code this pipeline runs changed since its records "
                     f"({html.escape(', '.join(stale[:5]))}{' ...' if len(stale) > 5 else ''}); regenerate it.</p>")
    for task in dict.fromkeys(long["task"]):
        sub = long[long["task"] == task]
        first = sub.iloc[0]
        parts.append(f"<h3>Task {html.escape(str(task))}: {html.escape(str(first['corpus']))}, "
                     f"{html.escape(str(first['split']))} split, {int(first['queries']):,} queries, "
                     f"{int(first['corpus_size']):,} passages</h3>")
        shown, note = display_frame(main_table(long, task)), ""
        paired_csv = results / "tables" / "paired.csv"  # the significance test covers the main (first) task
        if task == long["task"].iloc[0] and paired_csv.is_file():
            paired = pd.read_csv(paired_csv)
            shown, note = mark_significance(shown, paired), significance_note(paired).strip()
        parts.append(_table_html(shown) + (f"<p>{html.escape(note)}</p>" if note else ""))
    seeds = results / "tables" / "seeds.csv"
    if seeds.is_file():
        parts.append("<h3>Over training seeds</h3>" + _table_html(pd.read_csv(seeds, dtype=str, keep_default_na=False)))
    for png in sorted((results / "plots").glob("*.png")):
        parts.append(f"<img src='{png.relative_to(ROOT / 'results').as_posix()}' alt='{png.stem}'>")
    if (results / "latency.csv").is_file():
        lat = pd.read_csv(results / "latency.csv")
        if not lat.empty:
            wide = latency_wide(lat)
            parts.append("<h3>Latency and wall times (machine-dependent)</h3>" + _table_html(wide))
    return "\n".join(parts)


def _studies_section() -> str | None:
    """Every study (studies/<name>.yaml): its question, how to regenerate it, and its tables and plots."""
    parts = ["<h2 id='studies'>Studies</h2>"]
    for study in discover_studies(ROOT):
        files = ([f"results/studies/{out}" for out in study.outs] if study.table else list(study.tables))
        shown = [f for f in files if (ROOT / f).is_file()]
        if not shown:
            continue
        command = (f"dvc repro --single-item {STUDIES_DVC}:{study.stage}" if study.table else
                   " ".join(["dvc repro", *(dvcfile.get(p).dvc_file for p in study.pipelines or study.reads)]))
        parts.append(f"<h3 id='study-{html.escape(study.name)}'>{html.escape(study.name)}</h3>"
                     f"<p>{html.escape(study.question)}</p><p>Study: <code>{study.file}</code> &middot; regenerate: "
                     f"<code>{html.escape(command)}</code></p>")
        for f in shown:
            path = ROOT / f
            if path.suffix == ".md" and path.with_suffix(".csv").is_file():
                parts.append(f"<p><code>{f}</code></p>"
                             + _table_html(pd.read_csv(path.with_suffix(".csv"), dtype=str, keep_default_na=False)))
            elif path.suffix == ".png":
                parts.append(f"<img src='{path.relative_to(ROOT / 'results').as_posix()}' alt='{path.stem}'>")
    return "\n".join(parts) if len(parts) > 1 else None


def _contents(sections: list[str]) -> str:
    """A table of contents: one link per section heading."""
    links = [f"<a href='#{m.group(1)}'>{m.group(2)}</a>" for s in sections
             for m in re.finditer(r"<h2 id='([^']+)'>([^<]+)</h2>", s)]
    return "<nav><b>Contents:</b> " + " &middot; ".join(links) + "</nav>"


def render_index() -> str:
    sections = [s for s in (*(_section(p) for p in dvcfile.discover()), _studies_section()) if s]
    return ("<!doctype html>\n<html><head><meta charset='utf-8'><title>flmr-bench results</title>\n<style>"
            "body{font-family:sans-serif;margin:2em;max-width:1400px} table{border-collapse:collapse;font-size:13px;"
            "margin:1em 0} th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap} th{cursor:pointer;"
            "background:#f4f4f4} td:first-child,th:first-child{text-align:left} img{max-width:100%;margin:4px}"
            " .scroll{overflow-x:auto;max-width:100%} .stale{color:#a00} nav{line-height:1.8}"
            "</style></head><body>\n<h1>flmr-bench results</h1>\n<p>Every table below is a pivot of its pipeline's "
            "<code>long.csv</code>: metrics in percent, <code>value [95% paired-bootstrap interval]</code>; "
            "every metric (whole-word PR-Success, Success@K, R@K at every K) is in the CSV. Click a column header to "
            "sort.</p>\n" + _contents(sections) + "\n"
            + "\n".join(sections) + f"\n<script>{_SORT_JS}</script>\n</body></html>\n")


def render_readme(text: str) -> str:
    def fill(m: re.Match) -> str:
        f = ROOT / m.group("path")
        body = f.read_text(encoding="utf-8") if f.is_file() else f"({m.group('path')} is missing)\n"
        return m.group(1) + body + m.group(4)

    return README_BLOCK.sub(fill, text)


def refresh_latency() -> None:
    """Latency tables follow the run records, which every evaluation rewrites (DVC does not track them)."""
    for p in dvcfile.discover():
        params = load_params(ROOT / p.params_file)
        if (ROOT / "results" / params["profile"] / "long.csv").is_file():
            try:
                write_latency(params)
            except InputError:
                continue  # a pipeline whose run records are not all there (not regenerated here)


def write_site(readme: bool = False) -> list[str]:
    """results/index.html from the committed long tables (and, with `readme`, the README's quoted tables)."""
    written = []
    index = ROOT / "results" / "index.html"
    text = render_index()
    if not index.is_file() or index.read_text(encoding="utf-8") != text:
        write_text(index, text)
        written.append("results/index.html")
    if readme:
        f = ROOT / "README.md"
        new = render_readme(f.read_text(encoding="utf-8"))
        if new != f.read_text(encoding="utf-8"):
            write_text(f, new)
            written.append("README.md")
    return written
