"""The README quotes the committed tables, and results/index.html is what the committed long tables make."""

from __future__ import annotations

from pathlib import Path

from harness.report.site import README_BLOCK, render_index, render_readme

ROOT = Path(__file__).resolve().parent.parent


def test_readme_tables_are_the_committed_tables():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = list(README_BLOCK.finditer(text))
    assert "results/toy/tables/summary.md" in {m.group("path") for m in blocks}
    for m in blocks:
        assert (ROOT / m.group("path")).is_file(), f"README quotes {m.group('path')}, which is not committed"
    assert render_readme(text) == text, "README tables differ from results/: run `python -m harness site --readme`"


def test_index_page_is_what_the_committed_long_tables_make():
    page = ROOT / "results" / "index.html"
    assert page.is_file(), "results/index.html is missing: run `python -m harness site`"
    html = render_index()
    assert page.read_text(encoding="utf-8") == html, "results/index.html is stale: run `python -m harness site`"
    for name in ("toy", "check"):
        assert f"<h2 id='{'default' if name == 'toy' else name}'>{name}</h2>" in html
    assert html.count("<img src=") >= 3 and "class=\"dataframe sortable\"" in html
