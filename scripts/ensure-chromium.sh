#!/usr/bin/env bash
# Make sure Debian's chromium is present for the report browser tests.
# Installs it with apt-get when missing and we are root; otherwise says how.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests (one time)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
  command -v chromium >/dev/null && exit 0
fi
echo "chromium is not installed and could not be installed here." >&2
echo "Install it (Debian/Ubuntu: sudo apt-get install chromium) and run again." >&2
exit 1
