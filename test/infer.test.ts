import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { nodeTestsDir, nodeTestNames } from './helpers/nodetests.js';
import { loadModel } from '../src/onnx/io.js';
import { inferTypes } from '../src/ir/infer.js';
import { ModelBuilder } from '../src/onnx/builder.js';
import { DataType } from '../src/core/dtype.js';
import { GraphBuilder } from '../src/onnx/builder.js';

describe('element-type inference', () => {
  it('infers the declared output element type of every node-test model from its inputs alone', () => {
    let checked = 0;
    const bad: string[] = [];
    for (const name of nodeTestNames()) {
      const m = loadModel(join(nodeTestsDir(), name, 'model.onnx'));
      // Remember declared output types, then forget every type not given by an input or initializer.
      const declared = new Map<string, number>();
      for (const g of m.graph.allGraphs()) {
        const keep = new Set([...g.inputs, ...g.initializers.keys()]);
        for (const v of g.values.values()) {
          if (keep.has(v.name)) continue;
          if (g === m.graph && g.outputs.includes(v.name) && v.type?.elemType) declared.set(v.name, v.type.elemType);
          v.type = undefined;
        }
      }
      inferTypes(m);
      for (const [out, t] of declared) {
        checked++;
        const got = m.graph.values.get(out)?.type?.elemType;
        if (got !== t) bad.push(`${name}:${out} declared ${t} inferred ${got}`);
      }
    }
    expect(bad).toEqual([]);
    expect(checked).toBeGreaterThan(900);
    console.log(`inferred ${checked} declared node-test outputs`);
  });

  it('follows Cast, CastLike, comparisons, Shape and Constant', () => {
    const b = new ModelBuilder({ opset: 17 });
    const x = b.input('x', DataType.FLOAT, [2]);
    const y = b.input('y', DataType.FLOAT16, [2]);
    const [c] = b.node('Cast', [x], { to: DataType.INT32 });
    const [cl] = b.node('CastLike', [x, y]);
    const [eq] = b.node('Greater', [x, x]);
    const [s] = b.node('Shape', [x]);
    const [k] = b.node('Constant', [], { value_float: { float: 1.5 } });
    const [w] = b.node('Where', [eq, y, y]);
    const m = b.build();
    inferTypes(m);
    const t = (n: string) => m.graph.values.get(n)?.type?.elemType;
    expect([t(c), t(cl), t(eq), t(s), t(k), t(w)]).toEqual([
      DataType.INT32,
      DataType.FLOAT16,
      DataType.BOOL,
      DataType.INT64,
      DataType.FLOAT,
      DataType.FLOAT16,
    ]);
  });

  it('types If outputs from the branches, which read an outer-scope value', () => {
    const b = new ModelBuilder({ opset: 17 });
    const cond = b.input('cond', DataType.BOOL, []);
    const x = b.input('x', DataType.FLOAT16, [3]);
    const thenB = new GraphBuilder('then', b.graph);
    const [t1] = thenB.node('Relu', [x]); // x comes from the outer scope
    thenB.output(t1);
    const elseB = new GraphBuilder('else', b.graph);
    const [e1] = elseB.node('Neg', [x]);
    elseB.output(e1);
    const [out] = b.node('If', [cond], { then_branch: thenB.graph, else_branch: elseB.graph });
    const m = b.build();
    inferTypes(m);
    expect(m.graph.values.get(out)?.type?.elemType).toBe(DataType.FLOAT16);
    expect(thenB.graph.values.get(t1)?.type?.elemType).toBe(DataType.FLOAT16);
  });
});
