/**
 * `npm run fuzz`: a seeded, bounded fuzzer for everything that reads a model file. Each case takes a fixture
 * model or an ONNX node test, mutates it — at the byte level (truncation, bit flips, spliced bytes) or
 * structurally (dims, data lengths, data types, external-data keys and files, names, duplicate and missing
 * values, cycles, nesting depth, attribute values, opsets, IR versions) — and runs `inspect`, `repack`, the
 * default (verified) conversion, `run` and `diff` on it, in-process through the CLI's own `main`.
 *
 * The contract checked for every command: exit 0, or 2 with exactly one line on stderr naming the file; exit 1
 * only as a verdict (convert: verification failed; diff: tolerance not met); never a stack trace, an
 * "internal error", a hang (a case that makes no progress for HANG_MS is killed), a crash or memory blow-up
 * (workers run with a bounded heap); the input files unchanged; no temp files left behind.
 *
 * Cases run in worker processes (one per core); a failing case's files are kept in fixtures/fuzz-corpus/,
 * which test/fuzz-corpus.test.ts replays. Options: --cases N (default 2000), --seed S (default 1),
 * --workers W, --corpus DIR, --time-limit SECONDS (stop starting new cases after it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  statSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import {
  decodeModelProto,
  encodeModelProto,
  make,
  T,
  type ModelProto,
  type TensorProto,
  type GraphProto,
} from '../src/onnx/proto/proto.js';
import { xorshift } from '../src/core/rng.js';
import { CONFIG_KEYS } from '../src/tools/config.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const HANG_MS = 60_000;
const arg = (name: string, d: string) =>
  process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : d;

// ---- mutations -------------------------------------------------------------------------------------

type Rnd = () => number;
const pick = <T>(r: Rnd, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: Rnd, n: number) => Math.floor(r() * n);
/** Values that break assumptions: negative, zero, huge, past 2^31, 2^53 and 2^63 (as decimal strings for int64 fields). */
const NASTY_INTS: (number | string)[] = [
  -1,
  0,
  1,
  3,
  2 ** 31,
  1e12,
  -(2 ** 31),
  '9007199254740993',
  '9223372036854775807',
  '-9223372036854775808',
];
const NASTY_NAMES = ['', 'x', '\u001b[2J\u001b[31mred\r\n', 'a'.repeat(5000), '../../etc/passwd', '\u202eevil', 'dup'];

interface Case {
  bytes: Uint8Array;
  side: Record<string, Uint8Array | 'fifo' | 'dir'>;
  what: string;
}

function allGraphs(g: GraphProto, out: GraphProto[] = [], depth = 0): GraphProto[] {
  out.push(g);
  if (depth < 8)
    for (const n of g.node ?? [])
      for (const a of n.attribute ?? []) {
        if (a.g) allGraphs(a.g, out, depth + 1);
        for (const s of a.graphs ?? []) allGraphs(s, out, depth + 1);
      }
  return out;
}

const STRUCTURAL: Record<string, (mp: ModelProto, r: Rnd, side: Case['side']) => boolean> = {
  dims(mp, r) {
    const g = pick(r, allGraphs(mp.graph!));
    const ts: { dims?: unknown[] | null }[] = [
      ...(g.initializer ?? []),
      ...[...(g.input ?? []), ...(g.output ?? [])].map((v) =>
        v.type?.tensorType?.shape?.dim?.length ? { dims: v.type.tensorType.shape.dim } : {},
      ),
    ].filter((t) => t.dims?.length);
    if (!ts.length) return false;
    const t = pick(r, ts),
      i = int(r, t.dims!.length),
      v = pick(r, NASTY_INTS);
    if ('dimValue' in (t.dims![i] as object) || 'dimParam' in (t.dims![i] as object))
      (t.dims![i] as Record<string, unknown>).dimValue = v;
    else t.dims![i] = v;
    return true;
  },
  dataLength(mp, r) {
    const t = pick(
      r,
      allGraphs(mp.graph!).flatMap((g) => g.initializer ?? []),
    );
    if (!t) return false;
    const raw = t.rawData;
    if (raw?.length)
      t.rawData =
        r() < 0.5 ? raw.subarray(0, int(r, raw.length)) : new Uint8Array([...raw, ...new Uint8Array(1 + int(r, 64))]);
    else {
      t.floatData = Array.from({ length: int(r, 9) }, () => r());
      t.dataType = 1;
    }
    return true;
  },
  dataType(mp, r) {
    const ts: { dataType?: number | null }[] = allGraphs(mp.graph!).flatMap((g) => [
      ...(g.initializer ?? []),
      ...[...(g.input ?? []), ...(g.output ?? [])].flatMap((v) =>
        v.type?.tensorType
          ? [
              {
                get dataType() {
                  return v.type!.tensorType!.elemType;
                },
                set dataType(x) {
                  v.type!.tensorType!.elemType = x;
                },
              },
            ]
          : [],
      ),
    ]);
    if (!ts.length) return false;
    pick(r, ts).dataType = pick(r, [0, 2, 7, 8, 9, 10, 11, 16, 17, 22, 25, 99, -1]);
    return true;
  },
  external(mp, r, side) {
    const t = pick(
      r,
      allGraphs(mp.graph!).flatMap((g) => g.initializer ?? []),
    ) as TensorProto | undefined;
    if (!t) return false;
    // (raw_data can be a plain array here, after another mutation rewrote it: the side file needs bytes.)
    const bytes =
      t.rawData instanceof Uint8Array
        ? t.rawData
        : Uint8Array.from((t.rawData as ArrayLike<number> | undefined) ?? new Uint8Array(16));
    const location = pick(r, [
      'w.bin',
      'w.bin',
      'missing.bin',
      '../w.bin',
      '/etc/hostname',
      'fifo.bin',
      'dir',
      '',
      'model.onnx',
      'a/../w.bin',
    ]);
    delete (t as Record<string, unknown>).rawData;
    t.dataLocation = 1;
    const keys: Record<string, string> = { location };
    if (r() < 0.7) keys.offset = String(pick(r, [0, 0, 1, 7, -1, 1e15, 'x'] as const));
    if (r() < 0.6)
      keys.length = String(pick(r, [bytes.length, bytes.length, bytes.length + 1, 0, -5, 1e12, 'nan'] as const));
    t.externalData = Object.entries(keys).map(([key, value]) => make(T.StringStringEntry, { key, value }));
    side['w.bin'] = r() < 0.8 ? bytes : bytes.subarray(0, int(r, bytes.length + 1));
    if (location === 'fifo.bin') side['fifo.bin'] = 'fifo';
    if (location === 'dir') side.dir = 'dir';
    return true;
  },
  names(mp, r) {
    const g = pick(r, allGraphs(mp.graph!)),
      n = pick(r, g.node ?? []);
    if (!n) return false;
    const list = r() < 0.5 ? n.input : n.output;
    if (!list?.length) return false;
    const names = (g.node ?? []).flatMap((m) => [...(m.input ?? []), ...(m.output ?? [])]);
    list[int(r, list.length)] = r() < 0.5 ? pick(r, NASTY_NAMES) : pick(r, names);
    return true;
  },
  duplicateOrMissing(mp, r) {
    const g = pick(r, allGraphs(mp.graph!)),
      nodes = g.node ?? [];
    if (nodes.length < 1) return false;
    const a = pick(r, nodes),
      b = pick(r, nodes);
    if (r() < 0.5 && a.output?.length && b.output?.length) b.output[0] = a.output[0];
    else if (a.input?.length) a.input[0] = `missing_${int(r, 99)}`;
    else return false;
    return true;
  },
  cycle(mp, r) {
    const nodes = mp.graph!.node ?? [];
    if (nodes.length < 2) {
      if (nodes[0]?.input?.length && nodes[0].output?.length) {
        nodes[0].input[0] = nodes[0].output[0];
        return true;
      }
      return false;
    }
    const i = int(r, nodes.length - 1),
      j = i + 1 + int(r, nodes.length - i - 1);
    if (!nodes[i].input?.length || !nodes[j].output?.length) return false;
    nodes[i].input![0] = nodes[j].output![0];
    return true;
  },
  nesting(mp, r) {
    const depth = pick(r, [1, 3, 25, 40]);
    let g: GraphProto = {
      name: 'inner',
      input: [],
      output: [{ name: 'z' }],
      node: [{ opType: 'Identity', input: [mp.graph!.input?.[0]?.name ?? 'x'], output: ['z'] }],
    } as never;
    const leaf = g;
    for (let i = 0; i < depth; i++)
      g = {
        name: `n${i}`,
        input: [],
        output: [{ name: 'z' }],
        node: [
          {
            opType: 'If',
            input: ['cond'],
            output: ['z'],
            attribute: [
              { name: 'then_branch', type: 5, g },
              { name: 'else_branch', type: 5, g: leaf },
            ],
          },
        ],
      } as never;
    mp.graph!.node = [
      ...(mp.graph!.node ?? []),
      {
        opType: 'If',
        input: ['cond'],
        output: ['fuzz_z'],
        attribute: [
          { name: 'then_branch', type: 5, g },
          { name: 'else_branch', type: 5, g: leaf },
        ],
      } as never,
    ];
    return true;
  },
  attribute(mp, r) {
    const n = pick(
      r,
      allGraphs(mp.graph!).flatMap((g) => g.node ?? []),
    );
    if (!n) return false;
    const attrs = n.attribute ?? (n.attribute = []);
    const a =
      attrs.length && r() < 0.7
        ? pick(r, attrs)
        : (attrs.push({ name: pick(r, ['axis', 'perm', 'pads', 'group', 'kernel_shape', 'to', 'alpha']) } as never),
          attrs[attrs.length - 1]);
    const kind = int(r, 4);
    for (const k of ['i', 'f', 'ints', 'floats', 's', 't', 'g']) delete (a as Record<string, unknown>)[k];
    if (kind === 0) {
      a.type = 2;
      a.i = pick(r, NASTY_INTS) as never;
    } else if (kind === 1) {
      a.type = 1;
      a.f = pick(r, [NaN, Infinity, -1e30, 0]);
    } else if (kind === 2) {
      a.type = 7;
      a.ints = Array.from({ length: int(r, 6) }, () => pick(r, NASTY_INTS)) as never;
    } else {
      a.type = pick(r, [0, 3, 4, 5, 99]) as never;
    }
    return true;
  },
  opset(mp, r) {
    const o = (mp.opsetImport ??= [{ domain: '', version: 13 }]);
    if (!o.length) o.push({ domain: '', version: 13 });
    o[int(r, o.length)].version = pick(r, [0, 1, 6, 7, 25, 1000, '1099511627776', '9223372036854775807']) as never;
    return true;
  },
  irVersion(mp, r) {
    mp.irVersion = pick(r, [0, 1, 3, 4, 11, 100, '9007199254740993']) as never;
    return true;
  },
  // Files around the model: a config, JSON or .npz input sets — hostile values, names and kinds (FIFO, directory).
  config(mp, r, side) {
    // Every key a config may hold, and two that must never reach an object's prototype.
    const keys = [...CONFIG_KEYS, '__proto__', 'constructor'];
    const vals: unknown[] = [
      'no',
      true,
      'fp16',
      'bf16',
      'nonsense',
      -1,
      1e308,
      null,
      [],
      ['MatMul'],
      ['/(/'],
      { a: 1 },
      '__proto__',
    ];
    const cfg = Object.fromEntries(Array.from({ length: 1 + int(r, 3) }, () => [pick(r, keys), pick(r, vals)]));
    side['amp.json'] =
      r() < 0.1
        ? 'fifo'
        : r() < 0.1
          ? 'dir'
          : new TextEncoder().encode(r() < 0.15 ? '{"target": ' : JSON.stringify(cfg));
    return true;
  },
  jsonInputs(mp, r, side) {
    const g = mp.graph!,
      init = new Set((g.initializer ?? []).map((t) => t.name));
    const inputs = (g.input ?? []).filter((i) => !init.has(i.name)).map((i) => i.name ?? '');
    const name =
      r() < 0.2
        ? pick(r, ['__proto__', 'constructor', 'toString', '\u001b[2J', 'nope'])
        : pick(r, inputs.length ? inputs : ['x']);
    const dims = pick(r, [[1, 4], [-2, -2], [1.5, 2], [], [0], [2 ** 31, 2], ['a'], null]);
    const data = pick(r, [[1, 2, 3, 4], [], [[1, [2]]], ['x'], [NaN], null, Infinity]);
    const set = { [name]: r() < 0.5 ? { dims, data } : data };
    side['in.json'] =
      r() < 0.1 ? 'fifo' : new TextEncoder().encode(r() < 0.1 ? '[{' : JSON.stringify(r() < 0.3 ? [set, set] : set));
    return true;
  },
  npzInputs(mp, r, side) {
    const npy = (shape: string) =>
      new Uint8Array([
        ...new TextEncoder().encode('\x93NUMPY'),
        1,
        0,
        0x46,
        0,
        ...new TextEncoder().encode(
          `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape}), }`.padEnd(69) + '\n',
        ),
        ...new Uint8Array(64),
      ]);
    const member = pick(r, ['x.npy', '__proto__.npy', 'input.npy', '../x.npy']);
    const body = npy(pick(r, ['1, 4', '-1,', '2**40,', '1,2,3,4,5,6,7,8,9', '']));
    // A stored zip member; then the header offsets or the body bytes mutated.
    const name = new TextEncoder().encode(member);
    const lh = new Uint8Array(30 + name.length),
      ch = new Uint8Array(46 + name.length),
      end = new Uint8Array(22);
    const dv = (a: Uint8Array) => new DataView(a.buffer);
    dv(lh).setUint32(0, 0x04034b50, true);
    dv(lh).setUint32(18, body.length, true);
    dv(lh).setUint32(22, body.length, true);
    dv(lh).setUint16(26, name.length, true);
    lh.set(name, 30);
    dv(ch).setUint32(0, 0x02014b50, true);
    dv(ch).setUint32(20, body.length, true);
    dv(ch).setUint32(24, body.length, true);
    dv(ch).setUint16(28, name.length, true);
    ch.set(name, 46);
    dv(end).setUint32(0, 0x06054b50, true);
    dv(end).setUint16(8, 1, true);
    dv(end).setUint16(10, 1, true);
    dv(end).setUint32(12, ch.length, true);
    dv(end).setUint32(16, lh.length + body.length, true);
    const zip = new Uint8Array([...lh, ...body, ...ch, ...end]);
    if (r() < 0.5) {
      const at = int(r, zip.length);
      zip[at] = int(r, 256);
    }
    side['in.npz'] = zip;
    return true;
  },
};

function byteMutation(bytes: Uint8Array, r: Rnd): [Uint8Array, string] {
  const b = new Uint8Array(bytes);
  switch (int(r, 3)) {
    case 0:
      return [b.subarray(0, int(r, b.length)), 'truncate'];
    case 1: {
      const n = 1 + int(r, 8);
      for (let i = 0; i < n; i++) b[int(r, b.length)] ^= 1 << int(r, 8);
      return [b, `flip ${n} bits`];
    }
    default: {
      const at = int(r, b.length),
        junk = Uint8Array.from({ length: 1 + int(r, 16) }, () => int(r, 256));
      return [new Uint8Array([...b.subarray(0, at), ...junk, ...b.subarray(at)]), 'splice bytes'];
    }
  }
}

/** Case `k` of seed `seed`: a base model and one or two mutations, deterministic. */
export function makeCase(bases: string[], seed: number, k: number): Case {
  const r = xorshift((seed * 1_000_003 + k * 7919) >>> 0 || 1);
  for (let r0 = 0; r0 < 3; r0++) r();
  const base = pick(r, bases);
  const bytes = readFileSync(base);
  const side: Case['side'] = {};
  if (r() < 0.25) {
    const [b, what] = byteMutation(bytes, r);
    return { bytes: b, side, what: `${basename(base)}: ${what}` };
  }
  const mp = decodeModelProto(bytes);
  const names = Object.keys(STRUCTURAL),
    done: string[] = [];
  for (let tries = 0; tries < 6 && done.length < (r() < 0.3 ? 2 : 1); tries++) {
    const m = pick(r, names);
    try {
      if (STRUCTURAL[m](mp, r, side)) done.push(m);
    } catch {
      /* a mutation that does not apply to this model */
    }
  }
  let out: Uint8Array;
  try {
    out = encodeModelProto(mp);
  } catch {
    out = byteMutation(bytes, r)[0];
    done.push('(re-encode failed: bytes)');
  }
  return { bytes: out, side, what: `${basename(base)}: ${done.join(' + ') || 'none'}` };
}

// ---- the contract -----------------------------------------------------------------------------------

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}
export function checkContract(cmd: string, r: Result, file: string): string | undefined {
  const lines = r.stderr.trim() ? r.stderr.trim().split('\n') : [];
  if (/internal error/.test(r.stderr)) return `${cmd}: internal error: ${lines[0]}`;
  if (/\n\s+at /.test(r.stderr)) return `${cmd}: stack trace`;
  if (r.code === 2) {
    if (lines.length !== 1) return `${cmd}: exit 2 with ${lines.length} lines on stderr`;
    if (!lines[0].startsWith('amp-convert: ')) return `${cmd}: stderr line not prefixed: ${lines[0].slice(0, 120)}`;
    if (!lines[0].includes(basename(file)) && !lines[0].includes(tmpdir()))
      return `${cmd}: error does not name a file: ${lines[0].slice(0, 160)}`;
    return undefined;
  }
  if (r.code === 1 && (cmd === 'convert' || cmd === 'diff')) return undefined; // a verdict
  if (r.code !== 0) return `${cmd}: exit ${r.code}`;
  if (/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(r.stdout + r.stderr))
    return `${cmd}: raw control characters in the output`;
  return undefined;
}

/**
 * onnxruntime in a process of its own (it crashes on some hostile models — a segfault must not take the worker
 * down): one JSON line per load request, answered with the load's error or null; a request it dies on is answered
 * 'crashed', and the next one starts a fresh process.
 */
const ORT_HELPER = `const ort = require('onnxruntime-node'); const fs = require('fs'); const rl = require('readline').createInterface({ input: process.stdin });
rl.on('line', async (p) => { let err = null; try { await (await ort.InferenceSession.create(fs.readFileSync(p), { logSeverityLevel: 4, intraOpNumThreads: 1, interOpNumThreads: 1 })).release(); } catch (e) { err = String(e.message).split('\\n')[0]; } process.stdout.write(JSON.stringify({ err }) + '\\n'); });`;
let helper: { child: ReturnType<typeof spawn>; lines: AsyncIterableIterator<string> } | undefined;
async function ortLoad(path: string): Promise<string | undefined | 'crashed'> {
  if (!helper) {
    const child = spawn(process.execPath, ['-e', ORT_HELPER], { cwd: ROOT, stdio: ['pipe', 'pipe', 'ignore'] });
    helper = { child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator]() };
  }
  const h = helper;
  h.child.stdin!.write(`${path}\n`);
  // onnxruntime may also hang on a hostile model (a load spinning on a 2^31-element input): over 5 s counts as a crash.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<IteratorResult<string>>((res) => {
    timer = setTimeout(() => {
      h.child.kill('SIGKILL');
      res({ done: true, value: undefined });
    }, 5_000);
  });
  const next = await Promise.race([h.lines.next(), timeout]);
  clearTimeout(timer);
  if (next.done) {
    h.child.kill('SIGKILL');
    helper = undefined;
    return 'crashed';
  }
  return (JSON.parse(next.value) as { err: string | null }).err ?? undefined;
}

/** onnxruntime's refusal of `out` when it loads `input` (undefined: both load, or neither). */
async function invalidOutput(input: string, out: string): Promise<string | undefined> {
  if (!existsSync(out)) return undefined;
  if (await ortLoad(input)) return undefined;
  const err = await ortLoad(out);
  if (err === 'crashed') return 'onnxruntime crashed loading the converted model (it loads the input)';
  // onnxruntime's own cast insertion (its CPU provider casting fp16 nodes it has no kernel for) can contradict
  // itself on valid models: an error naming the casts it inserted is its defect, not the model's.
  return err && /InsertedPrecisionFreeCast/.test(err) ? undefined : err;
}

const hash = (p: string) =>
  existsSync(p) && statSync(p).isFile() ? createHash('sha1').update(readFileSync(p)).digest('hex') : 'none';

/** Runs every command on the case in `dir` (model.onnx + side files) through the CLI's `main`; returns the first broken promise. */
export async function runCase(dir: string, codes: string[] = []): Promise<string | undefined> {
  const { main } = await import('../src/cli/main.js');
  const model = join(dir, 'model.onnx');
  const before = readdirSync(dir)
    .filter((f) => !f.startsWith('out'))
    .map((f) => [f, hash(join(dir, f))]);
  const cmds: [string, string[]][] = [
    ['inspect', ['inspect', model]],
    ['repack', ['repack', model, '-o', join(dir, 'out-repack.onnx'), '--force']],
    ['repack', ['repack', model, '-o', join(dir, 'out-inline.onnx'), '--inline', '--force']],
    ['convert', [model, '-o', join(dir, 'out-conv.onnx'), '--force', '--random', '1', '--max-evals', '2']],
    ['run', ['run', model, '--random']],
    ['diff', ['diff', model, join(dir, 'out-conv.onnx'), '--random', '1']],
    // The files around the model, where the case has them.
    ...(['amp.json', 'in.json', 'in.npz'] as const)
      .filter((f) => existsSync(join(dir, f)))
      .map((f): [string, string[]] => [
        'convert',
        [
          model,
          '-o',
          join(dir, 'out-side.onnx'),
          '--force',
          '--max-evals',
          '2',
          f === 'amp.json' ? '--config' : '--inputs',
          join(dir, f),
        ],
      ]),
  ];
  for (const [name, args] of cmds) {
    if (name === 'diff' && !existsSync(join(dir, 'out-conv.onnx'))) continue;
    const out: string[] = [],
      err: string[] = [];
    const ow = process.stdout.write,
      ew = process.stderr.write;
    process.stdout.write = ((c: unknown) => {
      out.push(String(c));
      return true;
    }) as typeof process.stdout.write;
    process.stderr.write = ((c: unknown) => {
      err.push(String(c));
      return true;
    }) as typeof process.stderr.write;
    process.exitCode = undefined;
    let code: number;
    try {
      code = await main(['node', 'amp-convert', '--max-memory', '1024', ...args]);
    } catch (e) {
      code = -1;
      err.push(`thrown: ${(e as Error).stack}`);
    } finally {
      process.stdout.write = ow;
      process.stderr.write = ew;
      process.exitCode = undefined;
    }
    codes.push(`${name}:${code}`);
    const broken = checkContract(
      name,
      { code, stdout: out.join(''), stderr: err.join('') },
      args.find((a) => /amp\.json|in\.json|in\.npz/.test(a)) ?? model,
    );
    if (broken) return broken;
    // Never an invalid model: what convert writes, onnxruntime loads whenever it loads the input.
    if (name === 'convert' && code === 0 && args.includes('--random')) {
      const invalid = await invalidOutput(model, join(dir, 'out-conv.onnx'));
      if (invalid) return `convert wrote a model onnxruntime refuses (it loads the input): ${invalid}`;
    }
  }
  for (const [f, h] of before) if (hash(join(dir, f)) !== h) return `input file ${f} changed`;
  const temps = readdirSync(dir).filter((f) => f.includes('.tmp-'));
  if (temps.length) return `temp files left: ${temps.join(', ')}`;
  return undefined;
}

/** Writes a case's files into `dir`. */
export function writeCase(dir: string, c: Case): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.onnx'), c.bytes);
  for (const [name, v] of Object.entries(c.side)) {
    if (v === 'dir') mkdirSync(join(dir, name), { recursive: true });
    else if (v === 'fifo') spawnSync('mkfifo', [join(dir, name)]);
    else writeFileSync(join(dir, name), v);
  }
  writeFileSync(join(dir, 'what.txt'), `${c.what}\n`);
  // git cannot hold FIFOs: the corpus lists them here and replaying makes them again.
  const fifos = Object.entries(c.side)
    .filter(([, v]) => v === 'fifo')
    .map(([k]) => k);
  if (fifos.length) writeFileSync(join(dir, 'fifos.txt'), `${fifos.join('\n')}\n`);
}

export function baseModels(): string[] {
  const models = readdirSync(join(ROOT, 'fixtures/models'))
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => join(ROOT, 'fixtures/models', f))
    .filter((f) => statSync(f).size < 4 << 20);
  const nodeDir = join(tmpdir(), 'amp-convert-node-tests-v1');
  if (!existsSync(join(nodeDir, 'test_abs'))) {
    const tmp = `${nodeDir}.${process.pid}`;
    mkdirSync(tmp, { recursive: true });
    spawnSync('tar', ['xzf', join(ROOT, 'fixtures/onnx-node-tests.tgz'), '-C', tmp]);
    try {
      cpSync(tmp, nodeDir, { recursive: true });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const tests = readdirSync(nodeDir)
    .filter((d) => d.startsWith('test_'))
    .sort()
    .map((d) => join(nodeDir, d, 'model.onnx'))
    .filter((f) => existsSync(f));
  // Fixtures weigh as much as a fifth of the node tests: they are the real-model structures.
  return [...tests, ...Array.from({ length: Math.ceil(tests.length / (5 * models.length)) }, () => models).flat()];
}

// ---- worker and driver ------------------------------------------------------------------------------

async function worker(seed: number, cases: number[], work: string): Promise<void> {
  const bases = baseModels();
  for (const k of cases) {
    const dir = join(work, `case-${k}`);
    process.stdout.write(`start ${k} ${dir}\n`);
    const c = makeCase(bases, seed, k);
    writeCase(dir, c);
    let broken: string | undefined;
    const codes: string[] = [];
    try {
      broken = await runCase(dir, codes);
    } catch (e) {
      broken = `harness: ${(e as Error).message}`;
    }
    process.stdout.write(`${JSON.stringify({ k, broken, what: c.what, codes })}\n`);
    if (!broken) rmSync(dir, { recursive: true, force: true });
  }
  helper?.child.kill();
}

async function driver(): Promise<void> {
  const total = Number(arg('--cases', '2000')),
    seed = Number(arg('--seed', '1'));
  const workers = Number(arg('--workers', String(Math.max(1, Math.min(4, availableParallelism())))));
  const corpus = resolve(arg('--corpus', join(ROOT, 'fixtures/fuzz-corpus')));
  const limitMs = Number(arg('--time-limit', '1200')) * 1000;
  const work = mkdtempSync(join(tmpdir(), 'amp-fuzz-'));
  const t0 = Date.now();
  const failures: { k: number; broken: string; what: string; dir: string }[] = [];
  let done = 0;
  const tally = new Map<string, number>();
  const queue = Array.from({ length: total }, (_, k) => k);
  const self = fileURLToPath(import.meta.url);
  const runWorker = (): Promise<void> =>
    new Promise((res) => {
      const batch = queue.splice(0, 25);
      if (!batch.length || Date.now() - t0 > limitMs) {
        res();
        return;
      }
      const child = spawn(
        process.execPath,
        ['--max-old-space-size=3072', '--import', 'tsx/esm', self, '--worker', String(seed), batch.join(','), work],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let current: { k: number; dir: string } | undefined;
      const finished = new Set<number>();
      let timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
      createInterface({ input: child.stdout }).on('line', (line) => {
        const m = /^start (\d+) (.*)$/.exec(line);
        if (m) {
          current = { k: Number(m[1]), dir: m[2] };
          clearTimeout(timer);
          timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
          return;
        }
        try {
          const r = JSON.parse(line) as { k: number; broken?: string; what: string; codes: string[] };
          finished.add(r.k);
          done++;
          for (const c of r.codes) tally.set(c, (tally.get(c) ?? 0) + 1);
          if (r.broken) failures.push({ k: r.k, broken: r.broken, what: r.what, dir: join(work, `case-${r.k}`) });
        } catch {
          /* a line a case printed itself */
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (current && !finished.has(current.k)) {
          done++;
          failures.push({
            k: current.k,
            broken:
              signal === 'SIGKILL'
                ? `hang: no progress in ${HANG_MS / 1000} s`
                : `worker died (exit ${code}, ${signal})`,
            what: existsSync(join(current.dir, 'what.txt'))
              ? readFileSync(join(current.dir, 'what.txt'), 'utf8').trim()
              : '?',
            dir: current.dir,
          });
          queue.unshift(...batch.filter((k) => !finished.has(k) && k !== current!.k));
        }
        res(runWorker());
      });
    });
  await Promise.all(Array.from({ length: workers }, runWorker));
  for (const f of failures) {
    const dest = join(corpus, `seed${seed}-case${f.k}`);
    if (existsSync(f.dir)) {
      mkdirSync(dest, { recursive: true });
      for (const file of readdirSync(f.dir).filter((x) => !x.startsWith('out') && !x.includes('.tmp-'))) {
        const st = statSync(join(f.dir, file));
        if (st.isFile()) cpSync(join(f.dir, file), join(dest, file));
        else if (st.isDirectory()) mkdirSync(join(dest, file), { recursive: true });
      }
      writeFileSync(join(dest, 'broken.txt'), `${f.broken}\n`);
    }
  }
  rmSync(work, { recursive: true, force: true });
  const s = ((Date.now() - t0) / 1000).toFixed(0);
  console.log(
    `fuzz: ${done} mutations (seed ${seed}, ${workers} workers) in ${s} s: ${failures.length} broke the contract`,
  );
  console.log(
    `  exits: ${[...tally]
      .sort()
      .map(([k, v]) => `${k}×${v}`)
      .join(' ')}`,
  );
  for (const f of failures.slice(0, 20))
    console.log(`  case ${f.k} (${f.what}): ${f.broken.split('\n')[0].slice(0, 200)}`);
  if (failures.length) console.log(`kept in ${corpus} (replayed by test/fuzz-corpus.test.ts)`);
  if (done < total && Date.now() - t0 > limitMs) console.log(`stopped at the time limit after ${done} of ${total}`);
  process.exitCode = failures.length ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--worker')) {
    const i = process.argv.indexOf('--worker');
    await worker(Number(process.argv[i + 1]), process.argv[i + 2].split(',').map(Number), process.argv[i + 3]);
    process.exit(0);
  } else await driver();
}
