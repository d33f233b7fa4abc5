#!/usr/bin/env bash
# Set up everything chromatic needs on a fresh Debian machine that has Python 3.11 with pip:
# a virtual environment in .venv with the package and its test tools, and Debian's
# Cortex-M toolchain and QEMU for the firmware targets. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
echo "setup: installing chromatic and its Python dependencies into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
# An editable install maps chromatic.compiler etc. onto the stage folders with an import hook;
# setuptools then warns that a folder named like the package (chromatic/) may take precedence
# when Python runs in the repository. Here it is the package's own source, so the warning is
# only noise: filter that one message (by its text), not setuptools' warnings in general.
PYTHONWARNINGS="ignore:Editable installation" \
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev,ray]'

if [ -f scripts/install_firmware_toolchain.sh ]; then
  bash scripts/install_firmware_toolchain.sh
fi
# clang + compiler-rt for the libFuzzer part of benchmarks/fuzz_campaign.py (not needed by the tests)
if [ -f scripts/install_fuzz_toolchain.sh ]; then
  bash scripts/install_fuzz_toolchain.sh || echo "setup: fuzz toolchain not installed (optional)" >&2
fi
echo "setup: done (activate with: source .venv/bin/activate)"
