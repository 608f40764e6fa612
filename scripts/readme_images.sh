#!/usr/bin/env bash
# The README's pictures of the project design document, from the demo's output (`make demo`):
#   docs/images/pdd_first_page.png    page 1 of pdd.docx, converted to PDF by LibreOffice headless
#   docs/images/pdd_location_map.png  the PDD's location-map figure (figures/pdd_*.png), scaled down
# Usage: bash scripts/readme_images.sh [RUN_OUTPUT_DIR]   (default out/lishu-conservation-tillage)
# Needs soffice, pdftoppm and a CJK font (bash scripts/install_doc_tools.sh) and the venv's Pillow.
set -euo pipefail
cd "$(dirname "$0")/.."

run_dir=${1:-out/lishu-conservation-tillage}
images=docs/images
max_bytes=300000
docx="$run_dir/pdd.docx"
[ -f "$docx" ] || { echo "readme_images: no $docx; run \`make demo\` first" >&2; exit 1; }
for tool in soffice pdftoppm; do
  command -v "$tool" >/dev/null || { echo "readme_images: no $tool; run bash scripts/install_doc_tools.sh" >&2; exit 1; }
done
python=.venv/bin/python
[ -x "$python" ] || python=python3

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$images"

timeout 120 soffice "-env:UserInstallation=file://$tmp/lo-profile" --headless --norestore \
  --convert-to pdf --outdir "$tmp" "$docx" >/dev/null 2>&1
pdftoppm -png -r 50 -f 1 -l 1 -singlefile "$tmp/pdd.pdf" "$images/pdd_first_page"

# The location map: the figure block of kind "location_map" in pdd.json names the PNG
# (figures/pdd_<block id>.png); without pdd.json, the figure file whose name says location/map.
"$python" - "$run_dir" "$images/pdd_location_map.png" "$max_bytes" <<'PY'
import json
import re
import sys
from pathlib import Path

from PIL import Image

run_dir, dest, max_bytes = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
figures = run_dir / "figures"
src = None


def walk(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


pdd_json = run_dir / "pdd.json"
if pdd_json.is_file():
    for node in walk(json.loads(pdd_json.read_text(encoding="utf-8"))):
        if node.get("type") == "figure" and node.get("kind") == "location_map" and node.get("id"):
            candidate = figures / f"pdd_{re.sub(r'[^A-Za-z0-9_.-]+', '_', str(node['id']))}.png"
            if candidate.is_file():
                src = candidate
                break
if src is None:
    found = sorted(p for p in figures.glob("pdd_*.png") if re.search(r"location|map", p.name, re.I))
    if not found:
        sys.exit(f"readme_images: no location-map figure in {figures}")
    src = found[0]

img = Image.open(src).convert("RGB")
width = 900
while True:
    small = img if img.width <= width else img.resize((width, round(img.height * width / img.width)), Image.LANCZOS)
    small = small.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    small.save(dest, optimize=True)
    if dest.stat().st_size <= max_bytes or width <= 400:
        break
    width -= 100
print(f"readme_images: {src} -> {dest} ({small.width} x {small.height})")
PY

for f in "$images/pdd_first_page.png" "$images/pdd_location_map.png"; do
  size=$(stat -c %s "$f")
  echo "readme_images: $f $size bytes"
  [ "$size" -le "$max_bytes" ] || { echo "readme_images: $f is over $max_bytes bytes" >&2; exit 1; }
done
