import * as ort from 'onnxruntime-node';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { convertSync } from '../src/tools/convert.js';
import { encodeModel, loadModel } from '../src/onnx/io.js';
ort.env.logLevel = 'fatal';
const dirs = process.argv.slice(2);
const target = (process.env.TARGET ?? 'fp16') as 'fp16' | 'bf16';
let origOk = 0, convOk = 0, bad: string[] = [], refused: string[] = [];
for (const root of dirs) for (const name of readdirSync(root).sort()) {
  if (process.env.FILTER && !new RegExp(process.env.FILTER).test(name)) continue;
  const file = join(root, name, 'model.onnx');
  if (!existsSync(file)) continue;
  let s;
  try { s = await ort.InferenceSession.create(file, { logSeverityLevel: 4 }); await s.release(); } catch { continue; }
  origOk++;
  let bytes: Uint8Array;
  try { bytes = encodeModel(convertSync(file, { target }).model); } catch (e) { refused.push(`${name}: ${(e as Error).message.split('\n')[0]}`); continue; }
  try { s = await ort.InferenceSession.create(bytes, { logSeverityLevel: 4 }); await s.release(); convOk++; }
  catch (e) { bad.push(`${name}: ${(e as Error).message.split('\n')[0].slice(0, 200)}`); }
}
console.log(bad.join('\n')); console.log('--- refused'); console.log(refused.join('\n'));
console.log(`${target}: original loads ${origOk}, converted loads ${convOk}, invalid ${bad.length}, refused ${refused.length}`);
