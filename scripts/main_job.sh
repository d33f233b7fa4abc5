#!/usr/bin/env bash
# The main job: compile a trained policy from the zoo (policies/) to a blob, run it in the
# robot control loop on the C runtime, and print its bits and latency table.
#
#   scripts/main_job.sh [POLICY.npz [ENV_ID]]
#
# Without ENV_ID the run uses the environment recorded in the policy's metadata (env_id),
# which `chromatic compile` writes beside the blob (out/policy.cblob.json).
# Knobs (environment variables): OUT (output folder, default out), EPISODES (default 5),
# MAX_STEPS (cap steps per episode, default none), MEASURE_FLAGS (e.g. --no-latency).
set -euo pipefail
cd "$(dirname "$0")/.."
POLICY=${1:-policies/halfcheetah_h41_c17.npz}
ENV_ID=${2:-}
OUT=${OUT:-out}
EPISODES=${EPISODES:-5}
RUN_FLAGS=(--episodes "$EPISODES" --runtime c)
if [[ -n "$ENV_ID" ]]; then RUN_FLAGS+=(--env "$ENV_ID"); fi
if [[ -n "${MAX_STEPS:-}" ]]; then RUN_FLAGS+=(--max-steps "$MAX_STEPS"); fi
read -r -a MEASURE <<< "${MEASURE_FLAGS:-}"
mkdir -p "$OUT"
echo "== chromatic compile $POLICY"
.venv/bin/chromatic compile "$POLICY" -o "$OUT/policy.cblob"
echo
echo "== chromatic run $OUT/policy.cblob ${RUN_FLAGS[*]}"
.venv/bin/chromatic run "$OUT/policy.cblob" "${RUN_FLAGS[@]}"
echo
echo "== chromatic measure $OUT/policy.cblob ${MEASURE[*]}"
.venv/bin/chromatic measure "$OUT/policy.cblob" "${MEASURE[@]}"
