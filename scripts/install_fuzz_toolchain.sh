#!/usr/bin/env bash
# Install the coverage-guided fuzzing toolchain for benchmarks/fuzz_campaign.py (docs/safety.md):
# clang and its compiler-rt (libFuzzer, ASan, UBSan) for the chromatic_init target. The Python
# side (atheris) comes from PyPI with the dev extras. Idempotent: installs only what is missing.
# Needs root (or sudo); without it the campaign skips the libFuzzer part and says so.
set -euo pipefail
bash "$(dirname "$0")/install_debian_packages.sh" "fuzz toolchain" clang libclang-rt-14-dev
clang --version | head -n 1
