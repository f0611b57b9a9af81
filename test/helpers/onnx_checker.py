# Runs onnx.checker (full_check: strict type/shape inference) on each model path read from stdin;
# prints one JSON object {path: "ok" | error}. Uses Debian's python3-onnx (IR <= 8, opset <= 17).
import json, sys
import onnx
out = {}
for line in sys.stdin:
    p = line.strip()
    if not p:
        continue
    try:
        onnx.checker.check_model(onnx.load(p), full_check=True)
        out[p] = "ok"
    except Exception as e:  # report, do not stop
        out[p] = str(e).splitlines()[0][:300] if str(e) else type(e).__name__
print(json.dumps(out))
