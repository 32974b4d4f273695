#!/usr/bin/env bash
# Tools that check the packages under deploy/ (the tests of label "packaging"), into a cache
# outside the repository: helm and kubeconform built from the Go module proxy, and the
# Kubernetes JSON schemas that kubeconform reads, from the kubernetes-validate wheel on PyPI
# (kubeconform's own schemas live on GitHub, which this machine cannot reach).
# Prints the cache directory. Idempotent.
set -euo pipefail
cache="${HERALD_TOOLS_CACHE:-$HOME/.cache/herald/tools}"
helm_version=v3.21.4
kubeconform_version=v0.8.0
k8s_validate_version=1.37.0
schema_version=v1.34.0
mkdir -p "$cache"
command -v go >/dev/null 2>&1 || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null 2>&1 || { echo "install-packaging-tools: Go is needed (go install of helm and kubeconform)" >&2; exit 1; }
if [ ! -x "$cache/helm-$helm_version" ]; then
  GOBIN="$cache/bin" go install "helm.sh/helm/v3/cmd/helm@$helm_version" >&2
  mv "$cache/bin/helm" "$cache/helm-$helm_version"
fi
if [ ! -x "$cache/kubeconform-$kubeconform_version" ]; then
  GOBIN="$cache/bin" go install "github.com/yannh/kubeconform/cmd/kubeconform@$kubeconform_version" >&2
  mv "$cache/bin/kubeconform" "$cache/kubeconform-$kubeconform_version"
fi
ln -sf "helm-$helm_version" "$cache/helm"
ln -sf "kubeconform-$kubeconform_version" "$cache/kubeconform"
schemas="$cache/k8s-schemas-$schema_version-r3"
if [ ! -f "$schemas/deployment-apps-v1.json" ]; then
  tmp=$(mktemp -d)
  python3 -m pip download --no-deps --quiet --dest "$tmp" "kubernetes-validate==$k8s_validate_version" >&2
  python3 - "$tmp"/kubernetes_validate-*.whl "$schemas" "$schema_version" <<'PY'
# The wheel's schemas point at "/api/_definitions.json" (its own loader maps that path);
# kubeconform compiles one file at a time, so each kind's schema gets the definitions
# inlined under its own $defs. Only the kinds the chart may render are written.
import json, os, sys, zipfile
wheel, out, version = sys.argv[1:]
prefix = f"kubernetes_validate/kubernetes-json-schema/{version}-local-strict/"
kinds = ["deployment-apps-v1", "service-v1", "secret-v1", "configmap-v1", "poddisruptionbudget-policy-v1",
         "persistentvolumeclaim-v1", "ingress-networking-v1", "serviceaccount-v1", "statefulset-apps-v1"]
os.makedirs(out, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    defs = json.loads(z.read(prefix + "_definitions.json"))
    shared = defs.get("$defs") or defs.get("definitions")
    for kind in kinds:
        text = z.read(prefix + kind + ".json").decode().replace('"/api/_definitions.json#', '"#')
        schema = json.loads(text)
        schema["$defs"] = shared
        with open(os.path.join(out, kind + ".json"), "w") as f:
            json.dump(schema, f)
PY
  rm -rf "$tmp"
fi
ln -sfn "k8s-schemas-$schema_version-r3" "$cache/k8s-schemas"
echo "$cache"
