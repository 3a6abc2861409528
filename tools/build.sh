#!/usr/bin/env bash
# Builds or fetches every non-Python tool the local stack needs, from the registries only,
# into a cache keyed by version:  ${PLATTR_CACHE:-~/.cache/plattr}/<tool>-<version>/
#   kubernetes-<v>/ kube-apiserver kube-controller-manager kube-scheduler   (Go, tools/kube)
#   etcd-<v>/etcd  kustomize-<v>/kustomize  helm-<v>/helm                  (Go, tools/kube)
#   kwok-<v>/kwok                                                         (Go, tools/kwok)
#   kube-score-<v>/kube-score  the workload checker                   (Go, tools/kube-score)
#   keycloak-<v>/  the keycloak-quarkus-dist zip from Maven Central, unpacked
#   argocd-<v>/argocd and hard links to it under each component's name      (Go, tools/argocd)
#   argocd-<v>/crds/  Argo CD's CustomResourceDefinitions, from the same release's module
# A second run only checks that the files exist. When KUBEBUILDER_ASSETS is set (the envtest
# convention: a directory holding kube-apiserver and etcd), those two are used from there and
# not built. Versions live in tools/versions.env.
set -euo pipefail

TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$TOOLS_DIR/versions.env"
CACHE="${PLATTR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plattr}"
KUBE_MODULE="$TOOLS_DIR/kube"
KWOK_MODULE="$TOOLS_DIR/kwok"
KUBE_SCORE_MODULE="$TOOLS_DIR/kube-score"
ARGOCD_MODULE="$TOOLS_DIR/argocd"
# The names Argo CD's multi-call binary answers to (tools/argocd/main.go), besides `argocd`.
ARGOCD_COMPONENTS=(argocd-server argocd-repo-server argocd-cmp-server argocd-application-controller
  argocd-applicationset-controller argocd-git-ask-pass)

die() { echo "tools/build.sh: $*" >&2; exit 1; }

# The ldflags each upstream release build sets, so that `--version` and /version tell the truth.
kube_ldflags() {
  local minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
  local pkg x=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    x+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$KUBE_RELEASE_DATE"
  done
  x+=" -X sigs.k8s.io/kustomize/api/provenance.version=$KUSTOMIZE_VERSION"
  x+=" -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  x+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  x+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1"
  x+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
  echo "-s -w$x"
}

# The binary `go build` names after a package: its last element, but a major-version suffix.
bin_name() {
  local name="${1##*/}"
  [[ "$name" =~ ^v[0-9]+$ ]] && { name="${1%/*}"; name="${name##*/}"; }
  echo "$name"
}

# go_build MODULE LDFLAGS DIR PACKAGE...: build, in the Go module MODULE, the packages whose
# binary is missing from DIR.
go_build() {
  local module="$1" ldflags="$2" dir="$3"; shift 3
  local pkg missing=()
  for pkg in "$@"; do
    [[ -x "$dir/$(bin_name "$pkg")" ]] || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  command -v go >/dev/null || die "go not found: install Go >= 1.24 (https://go.dev/dl/)"
  echo "building ${missing[*]} into $dir" >&2
  local tmp; tmp="$(mktemp -d "$CACHE/.build.XXXXXX")"
  (cd "$module" && go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$tmp/" "${missing[@]}") \
    || { rm -rf "$tmp"; die "go build failed for ${missing[*]} (see the compiler output above)"; }
  mkdir -p "$dir"
  for pkg in "${missing[@]}"; do mv "$tmp/$(bin_name "$pkg")" "$dir/"; done
  rm -rf "$tmp"
}

# The go.mod files must match versions.env; bring them (and go.sum) in step when they do not.
ensure_gomods() {
  local pin
  for pin in "k8s.io/kubernetes $KUBERNETES_VERSION" "go.etcd.io/etcd/server/v3 $ETCD_VERSION" \
    "sigs.k8s.io/kustomize/kustomize/v5 $KUSTOMIZE_VERSION" "helm.sh/helm/v3 $HELM_VERSION"; do
    grep -qF "	$pin" "$KUBE_MODULE/go.mod" || { python3 "$KUBE_MODULE/gen_gomod.py"; break; }
  done
  grep -qF "sigs.k8s.io/kwok $KWOK_VERSION" "$KWOK_MODULE/go.mod" ||
    (cd "$KWOK_MODULE" && go get "sigs.k8s.io/kwok@$KWOK_VERSION" && go mod tidy)
}

# release_date MODULE_DIR PATH@VERSION: when the module proxy first saw that release.
release_date() {
  (cd "$1" && go mod download -json "$2") |
    python3 -c 'import json,sys; print(json.load(open(json.load(sys.stdin)["Info"]))["Time"])'
}

build_go_tools() {
  local kube_dir="$CACHE/kubernetes-$KUBERNETES_VERSION" k=k8s.io/kubernetes/cmd
  local first=("$k/kube-apiserver") etcd=(./cmd/etcd)
  if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
    [[ -x "$KUBEBUILDER_ASSETS/kube-apiserver" && -x "$KUBEBUILDER_ASSETS/etcd" ]] ||
      die "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks kube-apiserver or etcd; unset it to build them"
    echo "KUBEBUILDER_ASSETS is set: using its kube-apiserver and etcd" >&2
    first=() etcd=()
  fi
  local all_present=1 f
  for f in "$kube_dir/kube-apiserver" "$kube_dir/kube-controller-manager" \
    "$kube_dir/kube-scheduler" "$CACHE/etcd-$ETCD_VERSION/etcd" "$CACHE/kwok-$KWOK_VERSION/kwok" \
    "$CACHE/kustomize-$KUSTOMIZE_VERSION/kustomize" "$CACHE/helm-$HELM_VERSION/helm"; do
    [[ -n "${KUBEBUILDER_ASSETS:-}" && "$f" =~ /(kube-apiserver|etcd)$ ]] && continue
    [[ -x "$f" ]] || all_present=0
  done
  ((all_present)) && return 0
  ensure_gomods
  KUBE_RELEASE_DATE="$(release_date "$KUBE_MODULE" "k8s.io/kubernetes@$KUBERNETES_VERSION")"
  local kube=("$KUBE_MODULE" "$(kube_ldflags)")
  # API server and etcd first: they are what most tests need.
  ((${#etcd[@]})) && go_build "${kube[@]}" "$CACHE/etcd-$ETCD_VERSION" "${etcd[@]}"
  ((${#first[@]})) && go_build "${kube[@]}" "$kube_dir" "${first[@]}"
  go_build "${kube[@]}" "$kube_dir" "$k/kube-controller-manager" "$k/kube-scheduler"
  go_build "${kube[@]}" "$CACHE/kustomize-$KUSTOMIZE_VERSION" sigs.k8s.io/kustomize/kustomize/v5
  go_build "${kube[@]}" "$CACHE/helm-$HELM_VERSION" helm.sh/helm/v3/cmd/helm
  go_build "$KWOK_MODULE" "-s -w" "$CACHE/kwok-$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok
}

# kube-score in a module of its own (`tool` directive), version from versions.env.
build_kube_score() {
  local pkg=github.com/zegl/kube-score/cmd/kube-score
  local dir="$CACHE/kube-score-$KUBE_SCORE_VERSION"
  [[ -x "$dir/kube-score" ]] && return 0
  grep -qF "github.com/zegl/kube-score $KUBE_SCORE_VERSION" "$KUBE_SCORE_MODULE/go.mod" ||
    (cd "$KUBE_SCORE_MODULE" && go get -tool "$pkg@$KUBE_SCORE_VERSION" && go mod tidy)
  go_build "$KUBE_SCORE_MODULE" "-s -w -X main.version=${KUBE_SCORE_VERSION#v}" "$dir" "$pkg"
}

fetch_keycloak() {
  local dir="$CACHE/keycloak-$KEYCLOAK_VERSION"
  [[ -x "$dir/bin/kc.sh" ]] && return 0
  command -v mvn >/dev/null || die "mvn not found: run tools/install-system-deps.sh"
  echo "fetching org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION into $dir" >&2
  local tmp; tmp="$(mktemp -d "$CACHE/.keycloak.XXXXXX")"
  mvn --batch-mode --quiet dependency:copy \
    "-Dartifact=org.keycloak:keycloak-quarkus-dist:$KEYCLOAK_VERSION:zip" "-DoutputDirectory=$tmp" \
    || { rm -rf "$tmp"; die "Maven could not fetch keycloak-quarkus-dist $KEYCLOAK_VERSION"; }
  python3 -m zipfile -e "$tmp/keycloak-quarkus-dist-$KEYCLOAK_VERSION.zip" "$tmp/"
  chmod +x "$tmp/keycloak-$KEYCLOAK_VERSION"/bin/*.sh  # zipfile drops the mode bits
  mv "$tmp/keycloak-$KEYCLOAK_VERSION" "$dir"
  rm -rf "$tmp"
}

# The ldflags Argo CD's Makefile sets, so that `argocd version` and the startup logs tell the
# truth; the module zip carries no commit, so the version reads v<version>+unknown.
argocd_ldflags() {
  local pkg=github.com/argoproj/argo-cd/v3/common client_go date
  client_go="$(cd "$ARGOCD_MODULE" &&
    go list -m -f '{{with .Replace}}{{.Version}}{{else}}{{.Version}}{{end}}' k8s.io/client-go)"
  date="$(release_date "$ARGOCD_MODULE" "github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION")"
  echo "-s -w -X $pkg.version=${ARGOCD_VERSION#v} -X $pkg.gitTag=$ARGOCD_VERSION" \
    "-X $pkg.buildDate=$date -X $pkg.kubectlVersion=$client_go"
}

build_argocd() {
  local dir="$CACHE/argocd-$ARGOCD_VERSION" name all_present=1
  for name in argocd "${ARGOCD_COMPONENTS[@]}"; do [[ -x "$dir/$name" ]] || all_present=0; done
  ((all_present)) && return 0
  grep -qF "	github.com/argoproj/argo-cd/v3 $ARGOCD_VERSION" "$ARGOCD_MODULE/go.mod" ||
    python3 "$ARGOCD_MODULE/gen_gomod.py" "$ARGOCD_VERSION"
  go_build "$ARGOCD_MODULE" "$(argocd_ldflags)" "$dir" plattr.local/tools/argocd
  for name in "${ARGOCD_COMPONENTS[@]}"; do ln -f "$dir/argocd" "$dir/$name"; done
}

# The release's CRDs (manifests/crds/*-crd.yaml), which devstack installs before Argo CD starts.
copy_argocd_crds() {
  local dir="$CACHE/argocd-$ARGOCD_VERSION/crds" module
  compgen -G "$dir/*-crd.yaml" >/dev/null && return 0
  module="$(cd "$ARGOCD_MODULE" && go mod download -json "github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
  mkdir -p "$dir"
  cp "$module"/manifests/crds/*-crd.yaml "$dir/"
  chmod 644 "$dir"/*-crd.yaml  # the module cache is read-only
}

mkdir -p "$CACHE"
build_go_tools
build_kube_score
fetch_keycloak
build_argocd
copy_argocd_crds
echo "tools ready in $CACHE" >&2
