#!/usr/bin/env bash
# Install the coverage-guided fuzzing toolchain for benchmarks/fuzz_campaign.py (docs/safety.md):
# clang and its compiler-rt (libFuzzer, ASan, UBSan) for the chromatic_init target. The Python
# side (atheris) comes from PyPI with the dev extras. Idempotent: installs only what is missing.
# Needs root (or sudo); without it the campaign skips the libFuzzer part and says so.
set -euo pipefail

PACKAGES=(clang libclang-rt-14-dev)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "fuzz toolchain: already installed (${PACKAGES[*]})"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "fuzz toolchain: apt-get not found; install ${missing[*]} with your package manager" >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo)
else
  echo "fuzz toolchain: missing ${missing[*]}; run this script as root (e.g. sudo $0)" >&2
  exit 1
fi

echo "fuzz toolchain: installing ${missing[*]}"
"${SUDO[@]}" apt-get update
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
clang --version | head -n 1
