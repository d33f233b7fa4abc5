#!/usr/bin/env bash
# Install the Cortex-M firmware toolchain (docs/targets.md): cross compiler, newlib, QEMU.
# Idempotent: installs only the Debian packages that are missing. Needs root (or sudo).
set -euo pipefail

PACKAGES=(gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "firmware toolchain: already installed (${PACKAGES[*]})"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "firmware toolchain: apt-get not found; install ${missing[*]} with your package manager" >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo)
else
  echo "firmware toolchain: missing ${missing[*]}; run this script as root" \
       "(e.g. sudo $0) or install them with apt-get" >&2
  exit 1
fi

echo "firmware toolchain: installing ${missing[*]}"
"${SUDO[@]}" apt-get update
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
arm-none-eabi-gcc --version | head -n 1
qemu-system-arm --version | head -n 1
