#!/usr/bin/env bash
# Assembles the Apache Pulsar standalone broker (tests/pulsar/pom.xml) from Maven Central into a
# cache outside the repository, and prints its lib directory. Idempotent (.complete marks a full
# copy). Needs Java 17 and Maven (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's:.*<artifactId>pulsar-broker</artifactId><version>\([^<]*\)</version>.*:\1:p' tests/pulsar/pom.xml)
dir="${HERALD_CACHE_DIR:-$HOME/.cache/herald}/pulsar-$version"
if [ ! -f "$dir/.complete" ]; then
  rm -rf "$dir/lib"
  mkdir -p "$dir"
  mvn -B -q -f tests/pulsar/pom.xml \
    org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$dir/lib" >&2
  ls "$dir/lib" | grep -q "^pulsar-broker-$version.jar$" \
    || { echo "install-pulsar: pulsar-broker-$version.jar missing" >&2; exit 1; }
  touch "$dir/.complete"
fi
echo "$dir/lib"
