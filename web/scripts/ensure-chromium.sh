#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser test (playwright-core drives it;
# Playwright's own browser download is not used). Installs it with apt-get when missing.
set -euo pipefail

CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "ensure-chromium: $CHROMIUM is missing and installing it needs root (apt-get install -y chromium)." >&2
    exit 1
  fi
fi

echo "ensure-chromium: installing chromium with apt-get..." >&2
$SUDO apt-get update -qq >&2
# DejaVu gives the screenshots readable text on a machine with no fonts.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core >&2

if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing." >&2
  exit 1
fi
