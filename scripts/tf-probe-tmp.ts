import * as ort from 'onnxruntime-node';
import { encodeModel } from '../src/onnx/io.js';
import { convertSync, convert } from '../src/tools/convert.js';
import * as T from '../fixtures/scripts/transformers.js';
ort.env.logLevel = 'fatal';
const which = process.argv[2];
const make = { llama_prim: T.llamaPrim, llama_ops23: T.llamaOps23, llama_merged: T.llamaMerged, t5_encoder: T.t5Encoder, bert_ms: T.bertMs } as Record<string, () => any>;
for (const [name, f] of Object.entries(make)) {
  if (which && name !== which) continue;
  const m = f();
  const bytes = encodeModel(m);
  let msg = '';
  try { const s = await ort.InferenceSession.create(bytes); msg += `fp32 loads (${s.inputNames.join(',')})`; } catch (e) { msg += `fp32 FAILS ${(e as Error).message.slice(0, 300)}`; }
  const { model, summary } = convertSync(bytes);
  try { await ort.InferenceSession.create(encodeModel(model)); msg += '; fp16 static loads'; } catch (e) { msg += `; fp16 static FAILS ${(e as Error).message.slice(0, 300)}`; }
  console.log(name, msg, JSON.stringify(summary.keptFp32), summary.nodes.low, summary.nodes.high);
}
