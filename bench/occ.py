"""Baseline for npm run bench:convert: onnxconverter-common's float16 converter on one model, as its users run it
(onnx.load -> convert_float_to_float16 -> onnx.save). Prints one JSON line: ms, peak RSS, Cast nodes before/after.
onnxconverter-common is not a dependency: the bench runs this only where it can be imported (pip, or OCC_PATH
pointing at a source checkout)."""
import json, os, resource, sys, time

if os.environ.get('OCC_PATH'):
    sys.path.insert(0, os.environ['OCC_PATH'])
import onnx
from onnxconverter_common import float16


def casts(g):
    n = 0
    for node in g.node:
        n += node.op_type == 'Cast'
        for a in node.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                n += casts(a.g)
            for sg in a.graphs:
                n += casts(sg)
    return n


src, dst = sys.argv[1], sys.argv[2]
keep = len(sys.argv) > 3 and sys.argv[3] == 'keep-io'
t0 = time.perf_counter()
m = onnx.load(src)
before = casts(m.graph)
m2 = float16.convert_float_to_float16(m, keep_io_types=keep)
onnx.save(m2, dst)
ms = (time.perf_counter() - t0) * 1000
print(json.dumps({'ms': ms, 'rss': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, 'castsBefore': before, 'casts': casts(m2.graph)}))
