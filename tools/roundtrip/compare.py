"""Independent check of quantkit's ONNX codec: Python's onnx parses each original model and its quantkit
round trip, and the two messages must be equal.

stdin: lines "<original>\t<roundtrip>"; stdout: one JSON object per line {"file", "ok", "error"?}.
Run with Debian's python3 (package python3-onnx); see tools/roundtrip/run.mjs.
"""
import json
import sys

import onnx


def parse(path):
    model = onnx.ModelProto()
    with open(path, "rb") as f:
        model.ParseFromString(f.read())
    return model


def first_difference(a, b, where="model"):
    for field, value in a.ListFields():
        other = getattr(b, field.name)
        if value != other:
            if field.type == field.TYPE_MESSAGE and field.label != field.LABEL_REPEATED:
                return first_difference(value, other, f"{where}.{field.name}")
            if field.type == field.TYPE_MESSAGE:
                if len(value) != len(other):
                    return f"{where}.{field.name}: {len(value)} vs {len(other)} entries"
                for i, (x, y) in enumerate(zip(value, other)):
                    if x != y:
                        return first_difference(x, y, f"{where}.{field.name}[{i}]")
            return f"{where}.{field.name} differs"
    for field, _ in b.ListFields():
        if not a.HasField(field.name) if field.label != field.LABEL_REPEATED else False:
            return f"{where}.{field.name} only in the round trip"
    return f"{where}: unknown fields or presence differ"


for line in sys.stdin:
    original, roundtrip = line.rstrip("\n").split("\t")
    try:
        a, b = parse(original), parse(roundtrip)
        if a == b:
            print(json.dumps({"file": original, "ok": True}))
        else:
            print(json.dumps({"file": original, "ok": False, "error": first_difference(a, b)}))
    except Exception as exc:  # a parse failure of the round trip is a finding, not a crash
        print(json.dumps({"file": original, "ok": False, "error": repr(exc)}))
    sys.stdout.flush()
