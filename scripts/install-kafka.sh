#!/usr/bin/env bash
# Assembles the Apache Kafka broker the tests start (tests/kafka/pom.xml) from Maven Central
# into a cache outside the repository, and prints its lib directory. Idempotent: a complete
# copy is kept (marked by .complete). Needs Java 17 and Maven (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's:.*<artifactId>kafka_2.13</artifactId><version>\([^<]*\)</version>.*:\1:p' tests/kafka/pom.xml)
dir="${HERALD_CACHE_DIR:-$HOME/.cache/herald}/kafka-$version"
if [ ! -f "$dir/.complete" ]; then
  rm -rf "$dir/lib"
  mkdir -p "$dir"
  mvn -B -q -f tests/kafka/pom.xml \
    org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$dir/lib" >&2
  # The class that formats a KRaft log directory must be there (its package moved between lines).
  listing=$(unzip -Z1 "$dir/lib/kafka_2.13-$version.jar")
  grep -qx 'kafka/tools/StorageTool.class' <<<"$listing" \
    || { echo "install-kafka: kafka.tools.StorageTool missing from kafka_2.13-$version.jar" >&2; exit 1; }
  touch "$dir/.complete"
fi
echo "$dir/lib"
