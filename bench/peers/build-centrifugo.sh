#!/bin/bash
# Builds Centrifugo at a pinned release from the Go module proxy, into a cache outside the
# repository. Prints the binary's path. No code of the peer is kept in this repository.
set -euo pipefail
VERSION=${CENTRIFUGO_VERSION:-v6.9.1}
CACHE=${HERALD_PEERS_CACHE:-$HOME/.cache/herald/peers}
OUT=$CACHE/centrifugo-$VERSION
BIN=$OUT/centrifugo
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
export GOPATH=$CACHE/go GOMODCACHE=$CACHE/go/mod GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
mkdir -p "$OUT"
GOBIN=$OUT go install "github.com/centrifugal/centrifugo/v6@$VERSION" >&2
echo "$BIN"
