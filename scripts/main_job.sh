#!/usr/bin/env bash
# The main job: compile a policy shipped in policies/ to a blob and report its bits
# (paper accounting and honest blob size) and latency.
set -euo pipefail
cd "$(dirname "$0")/.."
POLICY=${1:-policies/demo_random_17x41x6_c17.npz}
mkdir -p out
echo "== chromatic compile $POLICY"
.venv/bin/chromatic compile "$POLICY" -o out/policy.cblob
echo
echo "== chromatic measure out/policy.cblob"
.venv/bin/chromatic measure out/policy.cblob
