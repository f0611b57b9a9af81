/** The ONNX checker (Debian python3-onnx) over many model files in one Python process. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './nodetests.js';

export const PYTHON = '/usr/bin/python3';
/** The IR and default-domain opset the installed onnx understands, or undefined when it is missing. */
export function checkerLimits(): { ir: number; opset: number; version: string } | undefined {
  if (!existsSync(PYTHON)) return undefined;
  const r = spawnSync(
    PYTHON,
    ['-c', 'import onnx;print(onnx.IR_VERSION, onnx.defs.onnx_opset_version(), onnx.__version__)'],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) return undefined;
  const [ir, opset, version] = r.stdout.trim().split(' ');
  return { ir: Number(ir), opset: Number(opset), version };
}
export function checkModels(paths: string[]): Record<string, string> {
  const r = spawnSync(PYTHON, [join(repoRoot, 'test/helpers/onnx_checker.py')], {
    input: paths.join('\n'),
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`onnx checker failed to run: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
