#!/usr/bin/env bash
# Builds the Kubernetes control plane the Kubernetes tests run against: etcd, kube-apiserver,
# kube-scheduler, kube-controller-manager, kubectl (for `kubectl kustomize` and server-side dry
# runs) and kwok (fake nodes and pod lifecycles), all from the Go module proxy, pinned below.
#
# Output: a directory keyed by the versions, printed on stdout (everything else goes to stderr):
#   ${PYFLEET_K8S_CACHE:-~/.cache/pyfleet}/k8s-<versions>/
# A rerun with the same versions prints that directory and does nothing else; with --check it
# never builds (exit 3 when the binaries are not there yet).
#
# Needs: curl and a Go toolchain.
# When `go` is missing or older than 1.21 the pinned toolchain is fetched from the Go module
# proxy (it is published there as the module golang.org/toolchain); a newer `go` fetches it
# itself through GOTOOLCHAIN. Cold: several minutes and ~4 GB of Go build caches, which are
# removed once the binaries are in place (PYFLEET_K8S_KEEP_GO_CACHE=1 keeps them).
set -euo pipefail

K8S_VERSION=1.34.4
ETCD_VERSION=3.6.16
KWOK_VERSION=0.8.0
GO_VERSION=1.26.8

CACHE=${PYFLEET_K8S_CACHE:-$HOME/.cache/pyfleet}
KEY="k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-go$GO_VERSION"
OUT="$CACHE/$KEY"
log() { echo "[k8s-test-bins] $*" >&2; }
die() { log "error: $1"; [ -n "${2:-}" ] && log "fix: $2"; exit 1; }

if [ -f "$OUT/.complete" ]; then echo "$OUT"; exit 0; fi
if [ "${1:-}" = "--check" ]; then log "not built yet: $OUT (run scripts/k8s-test-bins.sh; npm test does)"; exit 3; fi

command -v curl >/dev/null || die "curl is missing" "apt-get install -y curl"
mkdir -p "$CACHE"
# One build at a time per cache (parallel test workers or two checkouts on one machine).
exec 9>"$CACHE/$KEY.lock"
if ! flock -n 9; then
  log "another build of $KEY is running; waiting for it"
  flock 9
  if [ -f "$OUT/.complete" ]; then echo "$OUT"; exit 0; fi
fi

START=$(date +%s)
WORK="$CACHE/$KEY.build"
GOROOT_DIR="$CACHE/go$GO_VERSION"
GOCACHES="$CACHE/k8s-go-caches"   # Go's module and build caches, private to this script
rm -rf "$WORK"; mkdir -p "$WORK/bin" "$WORK/k8s" "$WORK/etcd" "$WORK/kwok"
export GOPATH="$GOCACHES/gopath" GOMODCACHE="$GOCACHES/gopath/pkg/mod" GOCACHE="$GOCACHES/build"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOPROXY=${GOPROXY:-https://proxy.golang.org}

go_minor() { "$1" env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p'; }
GO=""
if command -v go >/dev/null && [ "$(go env GOVERSION 2>/dev/null)" = "go$GO_VERSION" ]; then
  GO=$(command -v go); export GOTOOLCHAIN=local
elif command -v go >/dev/null && [ "$(go_minor go)" -ge 21 ] 2>/dev/null; then
  GO=$(command -v go); export GOTOOLCHAIN="go$GO_VERSION"   # go fetches it from the proxy
elif [ -x "$GOROOT_DIR/bin/go" ]; then
  GO="$GOROOT_DIR/bin/go"; export GOTOOLCHAIN=local
else
  case "$(uname -m)" in x86_64) ARCH=amd64 ;; aarch64|arm64) ARCH=arm64 ;; *) die "unsupported CPU $(uname -m)" ;; esac
  ZIP="$WORK/go.zip"
  log "no Go >= 1.21 on PATH: fetching go$GO_VERSION from the Go module proxy"
  curl -fsSL -o "$ZIP" "$GOPROXY/golang.org/toolchain/@v/v0.0.1-go$GO_VERSION.linux-$ARCH.zip" ||
    die "could not download the Go toolchain from $GOPROXY" "install Go >= 1.21 (https://go.dev/dl) or make $GOPROXY reachable"
  PY=$(command -v python3 || true); [ -n "$PY" ] || die "python3 is needed to unpack the Go toolchain" "apt-get install -y python3"
  rm -rf "$GOROOT_DIR.tmp"; mkdir -p "$GOROOT_DIR.tmp"
  "$PY" -m zipfile -e "$ZIP" "$GOROOT_DIR.tmp"
  # the module zip holds golang.org/toolchain@v0.0.1-go.../{bin,src,pkg}; zipfile drops file modes
  SRC=$(echo "$GOROOT_DIR.tmp"/golang.org/toolchain@*)
  chmod -R u+x "$SRC/bin" "$SRC/pkg/tool"
  rm -rf "$GOROOT_DIR"; mv "$SRC" "$GOROOT_DIR"; rm -rf "$GOROOT_DIR.tmp" "$ZIP"
  GO="$GOROOT_DIR/bin/go"; export GOTOOLCHAIN=local
fi
log "building $KEY with $("$GO" version) (nice 10; a cold build takes several minutes)"
GOB() { nice -n 10 "$GO" "$@"; }

# kube-apiserver & co.: k8s.io/kubernetes replaces its staging modules with ./staging paths, so
# `go install k8s.io/kubernetes/cmd/...@v` is refused. Build from a module of our own that
# replaces each of them with the published k8s.io/<name> v0.<minor> release instead.
KMOD=$(cd "$WORK/k8s" && GOB mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -f "$KMOD" ] || die "could not download k8s.io/kubernetes@v$K8S_VERSION from $GOPROXY"
MINOR=${K8S_VERSION#1.}
CMDS="kube-apiserver kube-scheduler kube-controller-manager kubectl"
{
  printf 'module pyfleet.local/k8s-test-bins\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$K8S_VERSION"
  sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$KMOD" |
    while read -r m; do printf '\t%s => %s v0.%s\n' "$m" "$m" "$MINOR"; done
  printf ')\n'
} > "$WORK/k8s/go.mod"
{ printf '//go:build tools\n\npackage tools\n\n'; for c in $CMDS; do echo "import _ \"k8s.io/kubernetes/cmd/$c\""; done; } > "$WORK/k8s/tools.go"
# Without the version stamped in, the apiserver reports v0.0.0-master+$Format:%H$ and clients
# (kubectl, client-node's version checks) cannot parse it.
LDF="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LDF="$LDF -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=${MINOR%%.*} -X $p.gitTreeState=clean"
done
log "kubernetes v$K8S_VERSION: resolving modules"
(cd "$WORK/k8s" && GOB mod tidy)
log "kubernetes: building $CMDS"
(cd "$WORK/k8s" && GOB build -trimpath -ldflags "$LDF" -o "$WORK/bin/" $(for c in $CMDS; do echo "k8s.io/kubernetes/cmd/$c"; done))

# etcd: its root module has ./ replaces too; a two-line main around etcdmain avoids them.
# (Debian's etcd 3.4 lacks RequestWatchProgress, which makes kwok's watches 40-60x slower.)
printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > "$WORK/etcd/main.go"
printf 'module pyfleet.local/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" > "$WORK/etcd/go.mod"
log "etcd v$ETCD_VERSION"
(cd "$WORK/etcd" && GOB mod tidy && GOB build -trimpath -ldflags "-s -w" -o "$WORK/bin/etcd" .)

# kwok: a plain module. v0.8 ships no default stages; take the fast node/pod ones from its module.
log "kwok v$KWOK_VERSION"
(cd "$WORK/kwok" && GOBIN="$WORK/bin" GOB install -trimpath \
  -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION")
KDIR=$(cd "$WORK/kwok" && GOB mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
         pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
  [ -f "$KDIR/kustomize/stage/$f" ] || die "kwok v$KWOK_VERSION has no stage $f"
  echo '---'; cat "$KDIR/kustomize/stage/$f"
done > "$WORK/bin/kwok-stages.yaml"

printf 'kubernetes %s\netcd %s\nkwok %s\ngo %s\nbuilt %s in %ss\n' "$K8S_VERSION" "$ETCD_VERSION" \
  "$KWOK_VERSION" "$GO_VERSION" "$(date -u +%FT%TZ)" "$(( $(date +%s) - START ))" > "$WORK/bin/VERSIONS"
touch "$WORK/bin/.complete"
rm -rf "$OUT"; mv "$WORK/bin" "$OUT"
rm -rf "$WORK"
if [ "${PYFLEET_K8S_KEEP_GO_CACHE:-0}" != 1 ]; then
  chmod -R u+w "$GOCACHES" 2>/dev/null || true   # Go writes its module cache read-only
  rm -rf "$GOCACHES"
fi
log "done in $(( $(date +%s) - START ))s: $(du -sh "$OUT" | cut -f1) in $OUT"
echo "$OUT"
