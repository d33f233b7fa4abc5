#!/usr/bin/env bash
# The main job: compile a trained policy from the zoo (policies/) to a blob, run it in the
# robot control loop on the C runtime, and print its bits and latency table.
set -euo pipefail
cd "$(dirname "$0")/.."
POLICY=${1:-policies/halfcheetah_h41_c17.npz}
ENV_ID=${2:-HalfCheetah-v5}
mkdir -p out
echo "== chromatic compile $POLICY"
.venv/bin/chromatic compile "$POLICY" -o out/policy.cblob
echo
echo "== chromatic run out/policy.cblob --env $ENV_ID --episodes 5 --runtime c"
.venv/bin/chromatic run out/policy.cblob --env "$ENV_ID" --episodes 5 --runtime c
echo
echo "== chromatic measure out/policy.cblob"
.venv/bin/chromatic measure out/policy.cblob
