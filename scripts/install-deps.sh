#!/usr/bin/env bash
# Installs the Debian 12 packages Herald needs to build, run and test.
# Idempotent: apt-get skips what is already installed. Runs as root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev
  liblmdb-dev libnghttp2-dev libhiredis-dev libpq-dev librdkafka-dev libssl-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libprotobuf-dev protobuf-compiler
  libgtest-dev libgmock-dev libbenchmark-dev
  curl ca-certificates openssl python3
)
# Tests: Debian's Chromium driven by playwright-core from npm; throwaway Redis servers and
# PostgreSQL clusters (initdb in a temp dir; the package's own cluster is not used); Apache
# Kafka brokers assembled from Maven Central jars (Java 17 runs them; keytool makes their TLS
# keystores), see scripts/install-kafka.sh.
if [ "${HERALD_WITH_BROWSER:-0}" = 1 ]; then
  packages+=(chromium redis-server postgresql python3-prometheus-client openjdk-17-jre-headless maven unzip)
  # The packaging checks: PyYAML reads rendered charts, pip fetches the Kubernetes schemas,
  # systemd-analyze verifies the unit.
  packages+=(python3-yaml python3-pip systemd)
  # The HTTPS browser test trusts its own test CA through an NSS database (certutil).
  packages+=(libnss3-tools)
  # HTTP/2 driven frame by frame in the integration tests.
  packages+=(python3-h2)
  command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
fi

# Fuzzing: libFuzzer comes with Debian's clang (its runtime is in libclang-rt-14-dev).
if [ "${HERALD_WITH_FUZZ:-0}" = 1 ]; then
  packages+=(clang-14 libclang-rt-14-dev)
fi

# Benchmarks: nchan (nginx module) as the peer, gnuplot for the plot, h2load (nghttp2-client) for HTTP/2.
if [ "${HERALD_WITH_BENCH:-0}" = 1 ]; then
  packages+=(nginx-light libnginx-mod-nchan gnuplot-nox nghttp2-client)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ "${HERALD_WITH_BROWSER:-0}" = 1 ]; then
  "$(dirname "$0")/install-kafka.sh" >/dev/null
  "$(dirname "$0")/install-pulsar.sh" >/dev/null  # Pulsar 4.0 standalone for the Pulsar client's tests
fi
