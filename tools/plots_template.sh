#!/usr/bin/env bash
# Write .dvc/plots/offline.html: DVC's plot page with vega, vega-lite and vega-embed inlined (from the npm
# registry, pinned below), so `dvc plots show` renders with no network (DVC's default page loads them from a
# CDN). .dvc/config names it (plots.html_template). The three libraries are BSD-3-Clause, University of
# Washington Interactive Data Lab; their notices are kept in the page.
set -euo pipefail
cd "$(dirname "$0")/.."
VEGA=5.33.1 LITE=5.23.0 EMBED=6.29.0
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack -q "vega@$VEGA" "vega-lite@$LITE" "vega-embed@$EMBED" >/dev/null)
for f in "$TMP"/*.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done
mkdir -p .dvc/plots
{
  echo "<!DOCTYPE html>"
  echo "<!-- Written by tools/plots_template.sh: vega $VEGA, vega-lite $LITE, vega-embed $EMBED inlined (BSD-3-Clause,"
  echo "     Copyright (c) 2015-2023, University of Washington Interactive Data Lab), so the page needs no network. -->"
  echo "<html><head><meta charset='utf-8'>{refresh_tag}<title>DVC Plot</title>"
  for lib in "vega-$VEGA/package/build/vega.min.js" "vega-lite-$LITE/package/build/vega-lite.min.js" \
             "vega-embed-$EMBED/package/build/vega-embed.min.js"; do
    printf '<script>\n'; cat "$TMP/$lib"; printf '\n</script>\n'
  done
  echo "<style>table { border-spacing: 15px; }</style></head><body>"
  echo "{plot_divs}"
  echo "</body></html>"
} > .dvc/plots/offline.html
echo "wrote .dvc/plots/offline.html ($(wc -c < .dvc/plots/offline.html) bytes)"
