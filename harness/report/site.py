"""`python -m harness site`: one static page, results/index.html, written from every pipeline's long tables:
each table (sortable by a click on its header), its plots inline, and its provenance (the commits that made
its records, the command that regenerates it). It also copies each pipeline's summary table into the README
between `<!-- table: PATH -->` and `<!-- /table -->`, so the README quotes what is committed."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd

from harness import dvcfile
from harness.atomic import write_text
from harness.params import load_params
from harness.errors import InputError
from harness.report.studies import write_generalization, write_toy_detector, write_toy_distractors
from harness.report.tables import (display_frame, latency_wide, main_table, mark_significance, significance_note,
                                   write_latency)

ROOT = dvcfile.ROOT
README_BLOCK = re.compile(r"(<!-- table: (?P<path>\S+) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)

_SORT_JS = """
document.querySelectorAll('table.sortable th').forEach((th, col) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0], rows = Array.from(body.rows), asc = th.dataset.asc !== '1';
  const key = r => { const t = r.cells[col].innerText.replace(/,/g, ''); const n = parseFloat(t);
                     return isNaN(n) ? t : n; };
  rows.sort((a, b) => { const x = key(a), y = key(b); return (x > y ? 1 : x < y ? -1 : 0) * (asc ? 1 : -1); });
  th.dataset.asc = asc ? '1' : '0'; rows.forEach(r => body.appendChild(r));
}));
"""


def _table_html(df: pd.DataFrame) -> str:
    return df.to_html(index=False, classes="sortable", border=0, na_rep="-", float_format=lambda v: f"{v:,.2f}")


def _commits(results: Path) -> list[str]:
    shas = set()
    for f in sorted(results.glob("runs/**/run.json")):
        git = json.loads(f.read_text(encoding="utf-8"))["provenance"]["git"]
        shas.add(f"{git.get('sha') or 'no git'}{' (dirty)' if git.get('dirty') else ''}")
    return sorted(shas)


def _section(p: dvcfile.Pipeline) -> str | None:
    params = load_params(ROOT / p.params_file)
    results = ROOT / "results" / params["profile"]
    if not (results / "long.csv").is_file():
        return None
    long = pd.read_csv(results / "long.csv")
    command = "dvc repro" if p.overrides_file is None else f"dvc repro {p.dvc_file}"
    parts = [f"<h2 id='{html.escape(p.name)}'>{html.escape(params['profile'])}</h2>",
             f"<p>Regenerate: <code>{html.escape(command)}</code> &middot; params: <code>{p.params_file}</code> "
             f"&middot; records made by commit {', '.join(f'<code>{c}</code>' for c in _commits(results))}</p>"]
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
    for png in sorted((results / "plots").glob("*.png")):
        parts.append(f"<img src='{png.relative_to(ROOT / 'results').as_posix()}' alt='{png.stem}'>")
    if (results / "latency.csv").is_file():
        lat = pd.read_csv(results / "latency.csv")
        if not lat.empty:
            wide = latency_wide(lat)
            parts.append("<h3>Latency and wall times (machine-dependent)</h3>" + _table_html(wide))
    return "\n".join(parts)


def _studies_section() -> str | None:
    """The tables that set several pipelines side by side (harness/report/studies.py)."""
    csv = ROOT / "results" / "studies" / "generalization.csv"
    if not csv.is_file():
        return None
    vqa = csv.with_name("generalization_vqa.csv")
    return ("<h2 id='studies'>Studies: generalization</h2><p>The okvqa_mini runs on other datasets and corpora, "
            "zero-shot (<code>results/studies/generalization.md</code>).</p>"
            + _table_html(pd.read_csv(csv, dtype=str, keep_default_na=False))
            + ("<p>VQA with okvqa_mini's reader (<code>results/studies/generalization_vqa.md</code>).</p>"
               + _table_html(pd.read_csv(vqa, dtype=str, keep_default_na=False)) if vqa.is_file() else ""))


def render_index() -> str:
    sections = [s for s in (*(_section(p) for p in dvcfile.discover()), _studies_section()) if s]
    return ("<!doctype html>\n<html><head><meta charset='utf-8'><title>flmr-bench results</title>\n<style>"
            "body{font-family:sans-serif;margin:2em;max-width:1400px} table{border-collapse:collapse;font-size:13px;"
            "margin:1em 0} th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap} th{cursor:pointer;"
            "background:#f4f4f4} td:first-child,th:first-child{text-align:left} img{max-width:600px;margin:4px}"
            "</style></head><body>\n<h1>flmr-bench results</h1>\n<p>Every table below is a pivot of its pipeline's "
            "<code>long.csv</code>: metrics in percent, <code>value [95% paired-bootstrap interval]</code>; "
            "every metric (whole-word PR-Success, Success@K, R@K at every K) is in the CSV. Click a column header to "
            "sort.</p>\n"
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
    studies = [(ROOT / "results" / "okvqa_mini" / "long.csv", write_generalization),  # the runs every column reads
               (ROOT / "results" / "toy" / "long.csv", write_toy_detector),
               (ROOT / "results" / "toy" / "long.csv", write_toy_distractors)]
    for needs, write in studies:
        if not needs.is_file():
            continue
        tables = ROOT / "results" / "studies"
        before = {f: f.read_text(encoding="utf-8") for f in tables.glob("*.md")} if tables.is_dir() else {}
        study = write(ROOT / "results")
        if before.get(study) != study.read_text(encoding="utf-8"):  # named only when it changed
            written.append(study.relative_to(ROOT).as_posix())
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
