#!/usr/bin/env bash
# Install the Debian packages that are missing: install_debian_packages.sh LABEL PACKAGE...
# Shared by the toolchain scripts. Idempotent; needs root (or passwordless sudo) to install.
set -euo pipefail

LABEL=$1
shift
PACKAGES=("$@")

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "$LABEL: already installed (${PACKAGES[*]})"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "$LABEL: apt-get not found; install ${missing[*]} with your package manager" >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo)
else
  echo "$LABEL: missing ${missing[*]}; run this as root (e.g. sudo) or install them with apt-get" >&2
  exit 1
fi

echo "$LABEL: installing ${missing[*]}"
"${SUDO[@]}" apt-get update
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
