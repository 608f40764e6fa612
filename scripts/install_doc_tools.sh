#!/usr/bin/env bash
# Install, only where missing, the tools that turn the CCER documents into PDF and pictures:
# Debian's LibreOffice Writer (`soffice --headless --convert-to pdf`), the Noto CJK fonts (so Chinese
# renders instead of empty boxes) and poppler-utils (pdftoppm, pdftotext, pdffonts). Needs root (or
# sudo) and Debian's package registry. Idempotent and quiet: exits 0 at once when all are present.
# Used by .ci/run and tests/mrv_service/test_documents_pdf.py.
set -euo pipefail

missing=()
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-writer)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
# fc-list: the fontconfig CLI, which LibreOffice pulls in; without it check the package itself
if ! { command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh-cn family | grep -qi 'Noto.*CJK'; } \
  && ! dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed'; then
  missing+=(fonts-noto-cjk)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install_doc_tools: need root to install ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "install_doc_tools: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v fc-cache >/dev/null 2>&1 && fc-cache -f >/dev/null 2>&1 || true
command -v soffice >/dev/null && command -v pdftoppm >/dev/null
