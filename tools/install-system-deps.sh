#!/usr/bin/env bash
# Installs the Debian packages the local stack needs (PostgreSQL 15, Maven for Keycloak,
# setpriv, chromium for the dashboard's browser test, Redis for Argo CD's cache). Idempotent:
# when everything is present it only asks dpkg, and returns at once.
set -euo pipefail

PACKAGES=(postgresql-15 maven util-linux chromium redis-server)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=()
  ((EUID == 0)) || sudo=(sudo)
  echo "installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

command -v go >/dev/null || echo "warning: no Go toolchain: tools/build.sh needs Go >= 1.24" >&2
compgen -G "/usr/lib/jvm/temurin-*" >/dev/null || [[ -n "${JAVA_HOME:-}" ]] ||
  echo "warning: no Temurin JDK under /usr/lib/jvm and no JAVA_HOME: Keycloak 26 needs Java 21+" >&2
