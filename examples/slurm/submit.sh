#!/bin/bash
# Queues the calibration array and the merge that waits for all of its tasks (docs/distributed.md).
#   WORK=/shared/me/run examples/slurm/submit.sh
set -euo pipefail
cd "$(dirname "$0")"
: "${WORK:?set WORK to a folder on the shared file system that holds model.onnx and calib/}"
export WORK
array=$(sbatch --parsable calibrate.sbatch)
# --parsable prints "jobid" or "jobid;cluster"; afterok on the array's id waits for every task to succeed.
sbatch --dependency=afterok:"${array%%;*}" merge.sbatch
