#!/usr/bin/env bash
# Assembles the Apache Kafka broker the tests start (tests/kafka/pom.xml) from Maven Central
# into a cache outside the repository, and prints its lib directory. Idempotent: a complete
# copy is kept (marked by .complete). Needs Java 17 and Maven (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/maven-jars.sh
version=$(sed -n 's:.*<artifactId>kafka_2.13</artifactId><version>\([^<]*\)</version>.*:\1:p' tests/kafka/pom.xml)

# The class that formats a KRaft log directory must be there (its package moved between lines).
check_kafka() {
  local listing
  listing=$(unzip -Z1 "$1/kafka_2.13-$version.jar")
  grep -qx 'kafka/tools/StorageTool.class' <<<"$listing" \
    || { echo "install-kafka: kafka.tools.StorageTool missing from kafka_2.13-$version.jar" >&2; exit 1; }
}
assemble_jars tests/kafka/pom.xml "${HERALD_CACHE_DIR:-$HOME/.cache/herald}/kafka-$version" check_kafka
