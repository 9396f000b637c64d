#!/usr/bin/env bash
# Headless Chromium for the report test (tests/e2e/test_report.py): the Debian package
# `chromium`, installed with apt-get when it is missing (needs root or sudo). Without it
# that test is skipped with this script's name in the reason, and fails under CI=true.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: no apt-get here; install Chromium yourself to run the report test" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "ensure_chromium: not root and no sudo; skipping the Chromium install" >&2
        exit 0
    fi
fi
echo "ensure_chromium: installing the Debian package chromium (apt-get update first)" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null
