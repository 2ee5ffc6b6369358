"""Baseline for the codec benchmark: Python onnx load + serialize + write, timed in-process.

usage: python3 codec_baseline.py MODEL OUT REPEATS  → prints one JSON list of milliseconds per repeat.
"""
import json
import sys
import time

import onnx

model_path, out_path, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = []
for _ in range(repeats):
    start = time.perf_counter()
    model = onnx.load(model_path)
    data = model.SerializeToString()
    with open(out_path, "wb") as f:
        f.write(data)
    times.append((time.perf_counter() - start) * 1000)
print(json.dumps(times))
