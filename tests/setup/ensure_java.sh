#!/usr/bin/env bash
# A Java runtime for the Spark target (pyspark runs Spark in a JVM): the comparison test
# tests/e2e/test_spark_target.py and `seg3a build --target spark`. When `java` is missing,
# the Debian package openjdk-17-jre-headless is installed with apt-get (needs root or
# sudo). Without Java that test is skipped with this script's name in the reason, and
# fails under CI=true.
set -euo pipefail
if command -v java >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_java: no apt-get here; install a Java 17 runtime yourself to run the Spark target" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "ensure_java: not root and no sudo; skipping the Java install" >&2
        exit 0
    fi
fi
echo "ensure_java: installing the Debian package openjdk-17-jre-headless (apt-get update first)" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
command -v java >/dev/null
