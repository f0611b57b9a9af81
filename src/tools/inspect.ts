/** `inspect`: what a model is, in one screen (or JSON). Pure over the IR; reads no tensor payloads. */
import { printable } from '../core/text.js';
import type { Model, Dim } from '../ir/graph.js';
import { dtypeName } from '../core/dtype.js';
import { toNum } from '../onnx/proto/proto.js';
import { Tensor } from '../ir/tensor.js';

/** What inspectModel finds (also the `inspect --json` shape). */
export interface InspectReport {
  file?: string;
  irVersion: number;
  producer: string;
  opsets: Record<string, number>;
  nodes: number;
  ops: Record<string, number>;
  inputs: { name: string; type: string; shape: Dim[] | null }[];
  outputs: { name: string; type: string; shape: Dim[] | null }[];
  parameters: {
    count: number;
    bytes: number;
    byType: Record<string, { count: number; bytes: number; tensors: number }>;
  };
  subgraphs: number;
  externalData: { file: string; tensors: number; bytes: number }[];
}

/** Describes a model: IR version, opsets, op histogram, inputs/outputs, parameters, external data. */
export function inspectModel(model: Model, file?: string): InspectReport {
  const ops: Record<string, number> = {};
  let nodes = 0,
    subgraphs = 0;
  for (const g of model.graph.allGraphs()) {
    if (g !== model.graph) subgraphs++;
    for (const n of g.nodes) {
      nodes++;
      const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
      ops[key] = (ops[key] ?? 0) + 1;
    }
  }
  const byType: InspectReport['parameters']['byType'] = {};
  const ext = new Map<string, { tensors: number; bytes: number }>();
  let count = 0,
    bytes = 0;
  for (const g of model.graph.allGraphs()) {
    // Parameters live in initializers and in Constant nodes' tensors (many exporters use the latter).
    const constants = g.nodes
      .filter((n) => n.opType === 'Constant' && n.attr('value')?.t)
      .map((n) => Tensor.fromProto(n.attr('value')!.t!));
    for (const t of [...g.initializers.values(), ...constants]) {
      const k = dtypeName(t.dataType);
      const e = (byType[k] ??= { count: 0, bytes: 0, tensors: 0 });
      e.count += t.size;
      e.bytes += t.byteLength;
      e.tensors++;
      count += t.size;
      bytes += t.byteLength;
      if (t.external) {
        const x = ext.get(t.external.location) ?? { tensors: 0, bytes: 0 };
        x.tensors++;
        x.bytes += t.external.length;
        ext.set(t.external.location, x);
      }
    }
  }
  const io = (names: string[]) =>
    names.map((name) => {
      const v = model.graph.values.get(name);
      return {
        name,
        type: v?.type
          ? dtypeName(v.type.elemType)
          : v?.typeProto
            ? (Object.keys(v.typeProto).find((k) => k.endsWith('Type')) ?? 'other')
            : 'unknown',
        shape: v?.type?.shape ?? null,
      };
    });
  const inits = model.graph.initializers;
  return {
    file,
    irVersion: model.irVersion,
    producer: [model.proto.producerName, model.proto.producerVersion].filter(Boolean).join(' '),
    opsets: Object.fromEntries((model.proto.opsetImport ?? []).map((o) => [o.domain || 'ai.onnx', toNum(o.version)])),
    nodes,
    ops: Object.fromEntries(Object.entries(ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))),
    // Old IR versions list initializers among the graph inputs; those are parameters, not inputs.
    inputs: io(model.graph.inputs.filter((n) => !inits.has(n))),
    outputs: io(model.graph.outputs),
    parameters: { count, bytes, byType },
    subgraphs,
    externalData: [...ext].map(([file, x]) => ({ file, ...x })),
  };
}

/** A byte count for humans (B, KiB, MiB, GiB). */
export const fmtBytes = (b: number): string =>
  b >= 2 ** 30
    ? `${(b / 2 ** 30).toFixed(2)} GiB`
    : b >= 2 ** 20
      ? `${(b / 2 ** 20).toFixed(2)} MiB`
      : b >= 1024
        ? `${(b / 1024).toFixed(1)} KiB`
        : `${b} B`;
const fmtShape = (s: Dim[] | null) => (s ? `[${s.map((d) => (d === null ? '?' : d)).join(', ')}]` : '[?]');

/** The `inspect` command's text form of an InspectReport. */
export function formatInspect(r: InspectReport): string {
  // Everything from the model file is made printable (names, op types, domains, producer: see printable).
  const p = (s: string) => printable(s, 120);
  const lines = [
    `${p(r.file ?? 'model')}: IR ${r.irVersion}, opsets ${Object.entries(r.opsets)
      .map(([d, v]) => `${p(d)} ${v}`)
      .join(', ')}${r.producer ? `, producer ${p(r.producer)}` : ''}`,
    `nodes ${r.nodes} (${r.subgraphs} subgraph${r.subgraphs === 1 ? '' : 's'}): ${Object.entries(r.ops)
      .map(([k, v]) => `${p(k)}×${v}`)
      .join(' ')}`,
    ...r.inputs.map((i) => `  input  ${p(i.name)}: ${i.type} ${p(fmtShape(i.shape))}`),
    ...r.outputs.map((o) => `  output ${p(o.name)}: ${o.type} ${p(fmtShape(o.shape))}`),
    `parameters ${r.parameters.count.toLocaleString('en-US')} (${fmtBytes(r.parameters.bytes)})${Object.entries(
      r.parameters.byType,
    )
      .map(([k, v]) => `; ${k} ${v.count.toLocaleString('en-US')} in ${v.tensors} tensors, ${fmtBytes(v.bytes)}`)
      .join('')}`,
  ];
  if (r.externalData.length)
    lines.push(...r.externalData.map((e) => `external data ${p(e.file)}: ${e.tensors} tensors, ${fmtBytes(e.bytes)}`));
  return lines.join('\n');
}
