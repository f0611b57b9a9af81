/**
 * The message interfaces of src/onnx/proto/proto.ts are written by hand (so the published types need no
 * onnx-proto): every field they declare must exist in the wire schema (src/onnx/proto/schema.ts) under the same
 * name, with a TypeScript type that fits the wire type — read with ts-morph from the source.
 */
import { describe, it, expect } from 'vitest';
import { Project } from 'ts-morph';
import { join } from 'node:path';
import { onnxDescriptor } from '../src/onnx/proto/schema.js';
import { repoRoot } from './helpers/nodetests.js';

const schema = onnxDescriptor.nested.onnx.nested as unknown as Record<
  string,
  { fields?: Record<string, { type: string; rule?: string }> }
>;
/** Interface → message, for the interfaces that mirror one message. */
const MESSAGES: Record<string, string> = {
  TensorProto: 'TensorProto',
  TypeProto: 'TypeProto',
  ValueInfoProto: 'ValueInfoProto',
  AttributeProto: 'AttributeProto',
  NodeProto: 'NodeProto',
  GraphProto: 'GraphProto',
  ModelProto: 'ModelProto',
  FunctionProto: 'FunctionProto',
  StringStringEntry: 'StringStringEntryProto',
  OperatorSetId: 'OperatorSetIdProto',
};
const wireToTs = (wire: string): RegExp =>
  /^(float|double|int32|uint32)$/.test(wire)
    ? /number/
    : /^(int64|uint64)$/.test(wire)
      ? /number \| Long/
      : wire === 'string'
        ? /string/
        : wire === 'bytes'
          ? /Uint8Array/
          : /./;

describe('hand-written proto interfaces match the wire schema', () => {
  const file = new Project({ skipAddingFilesFromTsConfig: true }).addSourceFileAtPath(
    join(repoRoot, 'src/onnx/proto/proto.ts'),
  );
  it.each(Object.entries(MESSAGES))('%s fields exist in %s with fitting types', (iface, message) => {
    const decl = file.getInterfaceOrThrow(iface);
    const fields = schema[message]?.fields ?? {};
    expect(Object.keys(fields).length).toBeGreaterThan(0);
    for (const prop of decl.getProperties()) {
      const name = prop.getName();
      expect(fields[name], `${iface}.${name}`).toBeDefined();
      const text = prop.getTypeNodeOrThrow().getText();
      expect(text, `${iface}.${name}`).toMatch(wireToTs(fields[name].type));
      if (fields[name].rule === 'repeated') expect(text, `${iface}.${name} is repeated`).toMatch(/\[\]/);
    }
  });
});

describe('onnx-proto as an independent decoder (a devDependency, used only here)', () => {
  it('reads what our writer writes: op types, initializer names and dims, opsets of every fixture model', async () => {
    const { onnx } = (await import('onnx-proto')).default as typeof import('onnx-proto');
    const { readdirSync } = await import('node:fs');
    const { loadModel, encodeModel } = await import('../src/onnx/io.js');
    const { convertSync } = await import('../src/tools/convert.js');
    const dir = join(repoRoot, 'fixtures/models');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.onnx'))) {
      const ours = convertSync(loadModel(join(dir, f))).model;
      const theirs = onnx.ModelProto.decode(encodeModel(ours));
      expect(
        theirs.graph!.node!.map((n) => n.opType),
        f,
      ).toEqual(ours.graph.nodes.map((n) => n.opType));
      expect(
        theirs.graph!.initializer!.map((t) => [t.name, t.dims!.map(Number), t.dataType]),
        f,
      ).toEqual([...ours.graph.initializers.values()].map((t) => [t.name, t.dims, t.dataType]));
      expect(
        theirs.opsetImport!.map((o) => [o.domain ?? '', Number(o.version)]),
        f,
      ).toEqual((ours.proto.opsetImport ?? []).map((o) => [o.domain ?? '', Number(o.version)]));
    }
  });
});
