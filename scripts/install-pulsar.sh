#!/usr/bin/env bash
# Assembles the Apache Pulsar standalone broker (tests/pulsar/pom.xml) from Maven Central into a
# cache outside the repository, and prints its lib directory. Idempotent (.complete marks a full
# copy). Needs Java 17 and Maven (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/maven-jars.sh
version=$(sed -n 's:.*<artifactId>pulsar-broker</artifactId><version>\([^<]*\)</version>.*:\1:p' tests/pulsar/pom.xml)

check_pulsar() {
  [ -f "$1/pulsar-broker-$version.jar" ] || { echo "install-pulsar: pulsar-broker-$version.jar missing" >&2; exit 1; }
}
assemble_jars tests/pulsar/pom.xml "${HERALD_CACHE_DIR:-$HOME/.cache/herald}/pulsar-$version" check_pulsar
