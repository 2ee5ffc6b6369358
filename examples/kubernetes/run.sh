#!/bin/sh
# Calibrates in the indexed Job, waits for all its pods, then merges in the second Job (docs/distributed.md).
# Kubernetes has no dependency between Jobs: this script is the dependency.
set -eu
cd "$(dirname "$0")"
kubectl delete job quantkit-calibrate quantkit-merge --ignore-not-found
kubectl apply -f calibrate-job.yaml
kubectl wait --for=condition=complete job/quantkit-calibrate --timeout=24h
kubectl apply -f merge-job.yaml
kubectl wait --for=condition=complete job/quantkit-merge --timeout=1h
kubectl logs job/quantkit-merge
