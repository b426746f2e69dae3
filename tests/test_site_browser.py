"""The committed results/index.html in a real browser (headless Chromium): every sortable header of every table is
clicked twice and the column must come out in ascending, then descending order. The page runs its own script; the
test only appends clicks and reads the columns back (the order is checked here, in Python)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "results" / "index.html"
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

CLICKS = """
<script>
const out = [];
document.querySelectorAll('table.sortable').forEach((table, t) => {
  table.querySelectorAll('thead th').forEach(th => {
    const col = th.cellIndex, read = () => Array.from(table.tBodies[0].rows, r => r.cells[col].textContent);
    th.click(); const up = read(); th.click(); const down = read();
    out.push({table: t, column: th.textContent, up, down});
  });
});
const pre = document.createElement('pre'); pre.id = 'clicks'; pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>
"""


def _key(text: str) -> tuple:
    """Numbers before text, numbers by value (leading number of '54.6 [47.9, 60.8]', commas dropped)."""
    t = text.replace(",", "").strip()
    m = re.match(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", t)
    return (0, float(m.group(0)), "") if m else (1, 0.0, t)


@pytest.fixture(scope="module")
def clicks(tmp_path_factory) -> list[dict]:
    if BROWSER is None:
        pytest.skip("no Chromium here (apt-get install chromium; .ci/run installs it)")
    page = tmp_path_factory.mktemp("site") / "index.html"
    page.write_text(SITE.read_text(encoding="utf-8").replace("</body>", CLICKS + "</body>"), encoding="utf-8")
    out = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=180)
    m = re.search(r"<pre id=\"clicks\">(.*?)</pre>", out.stdout, re.S)
    assert m, f"the page's script did not run:\n{out.stderr[-2000:]}"
    import html

    return json.loads(html.unescape(m.group(1)))


def test_every_table_on_the_site_has_sortable_headers(clicks):
    tables = len(re.findall(r"<table[^>]*sortable", SITE.read_text(encoding="utf-8")))
    assert tables >= 10 and {c["table"] for c in clicks} == set(range(tables))


def test_every_header_sorts_its_own_column_both_ways(clicks):
    for c in clicks:
        up, down = [_key(v) for v in c["up"]], [_key(v) for v in c["down"]]
        assert up == sorted(up), f"table {c['table']} column {c['column']!r}: not ascending after one click"
        assert down == sorted(down, reverse=True), f"table {c['table']} column {c['column']!r}: not descending"
