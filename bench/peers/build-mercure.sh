#!/bin/bash
# Builds the Mercure hub (Caddy with the Mercure module, the program Herald replaces) at a
# pinned release from the Go module proxy, into a cache outside the repository. Prints the
# binary's path. No code of the peer is kept in this repository.
set -euo pipefail
VERSION=${MERCURE_VERSION:-v0.24.2}
CACHE=${HERALD_PEERS_CACHE:-$HOME/.cache/herald/peers}
OUT=$CACHE/mercure-$VERSION
BIN=$OUT/mercure
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
export GOPATH=$CACHE/go GOMODCACHE=$CACHE/go/mod GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
mkdir -p "$OUT"
# `go install github.com/dunglas/mercure/caddy/mercure@VERSION` is refused here (the proxy
# does not list the module's versions, which go install reads for deprecations), so a main
# package of our own plugs the Mercure module into Caddy, built in a scratch module. Pins:
# the Caddy module asks for a golang.org/x/crypto/x509roots/fallback version the proxy does
# not serve; a newer one that it serves is required instead (minimal version selection).
FALLBACK=${MERCURE_X509ROOTS_FALLBACK:-v0.0.0-20261030153154-30a33513ff6d}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/main.go" <<'GO'
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/dunglas/mercure/caddy"
)

func main() { caddycmd.Main() }
GO
cd "$work"
go mod init herald-bench-peer-mercure >&2
go get "github.com/dunglas/mercure/caddy@$VERSION" "golang.org/x/crypto/x509roots/fallback@$FALLBACK" >&2
go mod tidy >&2
go build -o "$BIN" . >&2
echo "$BIN"
