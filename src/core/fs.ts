/**
 * The file system as a run touches it: inputs read with clear errors and size caps (never a FIFO or device),
 * outputs written through a temp file and moved into place (never partial, never through a symbolic link, never
 * over a file the run reads).
 */
import {
  openSync,
  writeSync,
  closeSync,
  renameSync,
  rmSync,
  statSync,
  lstatSync,
  linkSync,
  readFileSync,
  readdirSync,
  existsSync,
  type Stats,
} from 'node:fs';
import { dirname, basename, resolve, join } from 'node:path';
import { AmpError } from './errors.js';

/** Reads a file's bytes with clear errors for the usual ways a path is wrong. */
export function readInputFile(path: string, what = 'model', maxBytes = Infinity): Buffer {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new AmpError(
      (e as NodeJS.ErrnoException).code === 'ELOOP' ? 'is a symbolic link loop' : 'no such file',
      path,
    );
  }
  if (st.isDirectory()) throw new AmpError(`is a directory, not a ${what} file`, path);
  // A FIFO would block the read forever, a device (/dev/zero) never end it: only regular files are read.
  if (!st.isFile()) throw new AmpError(`is not a regular file (a FIFO, socket or device), not a ${what} file`, path);
  if (st.size === 0) throw new AmpError(`is empty`, path);
  if (st.size > maxBytes)
    throw new AmpError(`is ${st.size} bytes, more than the ${maxBytes} a ${what} file may have`, path);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new AmpError(`cannot be read: ${(e as Error).message}`, path);
  }
}

/** Limits on what a run reads, by kind of file (the model has its own: streamed, node counts capped). */
export const READ_LIMITS = { config: 1 << 20, json: 2 ** 30, csv: 2 ** 30, npy: 2 ** 32, inflated: 2 ** 31 } as const;

/** Writes bytes to fd, retrying short writes. */
export function writeAll(fd: number, b: Uint8Array): void {
  for (let off = 0; off < b.byteLength;) off += writeSync(fd, b, off, b.byteLength - off);
}

function tempName(path: string): string {
  return join(
    dirname(path),
    `.${basename(path)}.tmp-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
  );
}

// Temp files being written. While there are any, SIGINT/SIGTERM remove them before the process ends (writes are
// synchronous, so a signal is handled when the write has finished or failed: the output is then the new
// file or the old one, never a partial one, and no temp file stays behind).
const liveTemps = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
function onSignal(sig: NodeJS.Signals): void {
  for (const t of liveTemps) rmSync(t, { force: true });
  liveTemps.clear();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  // Ends the process as the signal would have, unless the embedding program listens for it itself.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}
function trackTemp(tmp: string): void {
  if (!liveTemps.size && !process.listeners('SIGINT').includes(onSignal))
    for (const s of SIGNALS) process.on(s, onSignal);
  liveTemps.add(tmp);
}
function untrackTemp(tmp: string): void {
  liveTemps.delete(tmp);
  // Handlers stay a moment longer: a signal that arrived during the (synchronous) write is delivered when the
  // event loop next polls, and must still find a listener that ends the process (unref'd: no delay at exit).
  if (!liveTemps.size)
    setTimeout(() => {
      if (!liveTemps.size) for (const s of SIGNALS) process.removeListener(s, onSignal);
    }, 200).unref();
}

/**
 * Runs `fn` on a temp file's fd and moves it to `path` only if everything succeeded. Without `force` the
 * move is a hard link, which fails if `path` appeared meanwhile (so of two racing writers only one wins);
 * with `force` it is a rename (atomic replace).
 */
export function atomicWrite(path: string, fn: (fd: number) => void, force = false): void {
  const tmp = tempName(path);
  let fd: number;
  trackTemp(tmp);
  try {
    fd = openSync(tmp, 'wx');
  } catch (e) {
    untrackTemp(tmp);
    throw new AmpError(`cannot write: ${(e as Error).message}`, path);
  }
  try {
    fn(fd);
    closeSync(fd);
    fd = -1;
    if (force) renameSync(tmp, path);
    else {
      try {
        linkSync(tmp, path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST')
          throw new AmpError('output exists (written meanwhile by another process); use --force to overwrite', path);
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'ENOSYS') throw e;
        // A file system without hard links: the existence check before writing is all there is.
        if (existsSync(path)) throw new AmpError('output exists; use --force to overwrite', path);
        renameSync(tmp, path);
      }
      rmSync(tmp, { force: true });
    }
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    // A full disk or quota names the output it could not write (the partial temp file is gone).
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO' || code === 'EFBIG')
      throw new AmpError(
        `cannot write: ${code === 'ENOSPC' ? 'no space left on the device' : (e as Error).message}`,
        path,
      );
    throw e;
  } finally {
    untrackTemp(tmp);
  }
}

const sameFile = (a: Stats, b: Stats) => a.dev === b.dev && a.ino === b.ino;
export const statOrUndefined = (p: string, link = false): Stats | undefined => {
  try {
    return link ? lstatSync(p) : statSync(p);
  } catch {
    return undefined;
  }
};

/**
 * The files behind paths a run reads besides the model (--config, --inputs, --expected, --data): a file as it is,
 * a directory's files two levels down (input_N.pb in test_data_set_* folders) — the outputs may overwrite none.
 */
export function readFiles(paths: (string | undefined)[]): string[] {
  const out: string[] = [];
  const walk = (p: string, depth: number) => {
    const st = statOrUndefined(p, true);
    if (!st) return;
    if (!st.isDirectory()) {
      out.push(resolve(p));
      return;
    }
    if (depth === 0) return;
    let names: string[] = [];
    try {
      names = readdirSync(p);
    } catch {
      return;
    }
    for (const n of names.slice(0, 10_000)) walk(join(p, n), depth - 1);
  };
  for (const p of paths) if (p) walk(p, 2);
  return out;
}

/**
 * Refuses an output path that cannot be written safely: a name ending in a separator, a missing directory,
 * a symbolic link (never written through, never replaced), anything but a regular file (FIFO, device,
 * directory), one of the protected input files (by identity, so links and hard links count), or an existing
 * file without `force`.
 */
export function checkOutput(
  path: string,
  opts: { force?: boolean; inputPath?: string; protect?: string[] } = {},
): void {
  if (/[\\/]$/.test(path)) throw new AmpError('output path names a directory; give a file name', path);
  const dir = statOrUndefined(dirname(resolve(path)));
  if (!dir?.isDirectory()) throw new AmpError('output directory does not exist', path);
  const st = statOrUndefined(path, true);
  if (!st) return;
  if (st.isSymbolicLink())
    throw new AmpError('output path is a symbolic link; refusing to write through or replace it', path);
  if (st.isDirectory()) throw new AmpError('output path is a directory', path);
  if (!st.isFile())
    throw new AmpError('output path is not a regular file (a FIFO, socket or device); refusing to replace it', path);
  for (const p of [...(opts.inputPath ? [opts.inputPath] : []), ...(opts.protect ?? [])]) {
    const ps = statOrUndefined(p);
    if (ps && sameFile(st, ps))
      throw new AmpError(
        `refusing to overwrite ${resolve(p) === resolve(opts.inputPath ?? '') ? 'the input model' : 'an input file of this run'}; choose another output path`,
        path,
      );
  }
  if (!opts.force) throw new AmpError('output exists; use --force to overwrite', path);
}

/**
 * Writes a small file (report, tensor, bindings) via a temp file: refuses to overwrite unless `force`, and
 * never writes over `protect` (the input model and its data) or through a symbolic link (checkOutput).
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: { force?: boolean; protect?: string[] } = {},
): void {
  checkOutput(path, opts);
  atomicWrite(path, (fd) => writeAll(fd, typeof data === 'string' ? Buffer.from(data) : data), opts.force);
}
