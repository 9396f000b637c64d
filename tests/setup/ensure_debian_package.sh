#!/usr/bin/env bash
# ensure_debian_package.sh COMMAND PACKAGE WHAT
# A program some tests need, from Debian's packages: when COMMAND is missing, PACKAGE is
# installed with apt-get (needs root or sudo). `make test-setup` calls it for
#   chromium / chromium                  the report test (tests/e2e/test_report.py)
#   java     / openjdk-17-jre-headless   the Spark target (tests/e2e/test_spark_target.py)
# Without the program those tests are skipped, naming this script, and fail under CI=true.
set -euo pipefail
if [ "$#" -ne 3 ]; then
    echo "usage: $0 COMMAND PACKAGE WHAT" >&2
    exit 2
fi
command_name=$1 package=$2 what=$3
if command -v "$command_name" >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_debian_package: no apt-get here; install $package yourself for $what" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "ensure_debian_package: not root and no sudo; skipping the $package install" >&2
        exit 0
    fi
fi
echo "ensure_debian_package: installing the Debian package $package for $what (apt-get update first)" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$package" >/dev/null
command -v "$command_name" >/dev/null
