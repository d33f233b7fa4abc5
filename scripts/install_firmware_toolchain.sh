#!/usr/bin/env bash
# Install the Cortex-M firmware toolchain (docs/targets.md): cross compiler, newlib, QEMU.
# Idempotent: installs only the Debian packages that are missing. Needs root (or sudo).
set -euo pipefail
bash "$(dirname "$0")/install_debian_packages.sh" "firmware toolchain" \
  gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm cmake make
arm-none-eabi-gcc --version | head -n 1
qemu-system-arm --version | head -n 1
