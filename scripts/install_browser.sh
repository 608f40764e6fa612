#!/usr/bin/env bash
# Install, only where missing, Debian's Chromium for the review pages' browser tests (Playwright
# drives /usr/bin/chromium; Playwright's own browser download does not work offline). Needs root
# (or sudo) and Debian's package registry. Idempotent and quiet. Used by .ci/run.
set -euo pipefail

[ -x /usr/bin/chromium ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install_browser: need root to install chromium" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "install_browser: installing chromium"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
[ -x /usr/bin/chromium ]
