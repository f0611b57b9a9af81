/**
 * FLOAT8 (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ) and FLOAT8E8M0 codecs, following the ONNX Cast specification:
 * round to nearest even; with `saturate` (the default) values beyond the range become ±max (and ±Inf too, for
 * the formats without Inf), otherwise they become Inf (E5M2) or NaN. E8M0 holds a power of two 2^(b−127) and
 * rounds up / down / to nearest in log2 (`round_mode`). Decoding is a 256-entry table per format.
 */
import { DataType } from './dtype.js';

interface F8 {
  bias: number;
  mant: number;
  fnuz: boolean;
  inf: boolean;
  nanAllOnes: boolean;
}
const FORMATS: Record<number, F8> = {
  [DataType.FLOAT8E4M3FN]: { bias: 7, mant: 3, fnuz: false, inf: false, nanAllOnes: true },
  [DataType.FLOAT8E4M3FNUZ]: { bias: 8, mant: 3, fnuz: true, inf: false, nanAllOnes: false },
  [DataType.FLOAT8E5M2]: { bias: 15, mant: 2, fnuz: false, inf: true, nanAllOnes: false },
  [DataType.FLOAT8E5M2FNUZ]: { bias: 16, mant: 2, fnuz: true, inf: false, nanAllOnes: false },
};
export const isFloat8 = (t: number) => t in FORMATS || t === DataType.FLOAT8E8M0;

function decodeOne(f: F8, b: number): number {
  const sign = b & 0x80 ? -1 : 1;
  const e = (b >> f.mant) & ((1 << (7 - f.mant)) - 1);
  const m = b & ((1 << f.mant) - 1);
  const emax = (1 << (7 - f.mant)) - 1;
  if (f.fnuz && b === 0x80) return NaN;
  if (f.nanAllOnes && (b & 0x7f) === 0x7f) return NaN;
  if (!f.fnuz && !f.nanAllOnes && e === emax) return m === 0 ? sign * Infinity : NaN; // E5M2 is IEEE-like
  if (e === 0) return sign * m * 2 ** (1 - f.bias - f.mant);
  return sign * (1 + m / (1 << f.mant)) * 2 ** (e - f.bias);
}

const tables = new Map<number, Float32Array>();
export function float8Table(t: number): Float32Array {
  let tab = tables.get(t);
  if (!tab) {
    tab = new Float32Array(256);
    if (t === DataType.FLOAT8E8M0) for (let b = 0; b < 256; b++) tab[b] = b === 0xff ? NaN : 2 ** (b - 127);
    else for (let b = 0; b < 256; b++) tab[b] = decodeOne(FORMATS[t], b);
    tables.set(t, tab);
  }
  return tab;
}

/** Positive finite codes sorted by value (for nearest-value search). */
const positives = new Map<number, { v: number[]; b: number[] }>();
function posCodes(t: number) {
  let p = positives.get(t);
  if (!p) {
    const tab = float8Table(t);
    const codes = [...Array(128).keys()]
      .filter((b) => Number.isFinite(tab[b]) && tab[b] >= 0)
      .sort((a, b) => tab[a] - tab[b]);
    p = { v: codes.map((b) => tab[b]), b: codes };
    positives.set(t, p);
  }
  return p;
}

/** `nanSign` carries the sign bit of a NaN input (JS numbers do not expose it): 0x80 or 0. */
export function toFloat8(x: number, t: number, saturate = true, roundMode = 'up', nanSign = 0): number {
  if (t === DataType.FLOAT8E8M0) {
    if (Number.isNaN(x) || x <= 0) return Number.isNaN(x) ? 0xff : 0x00;
    if (x === Infinity) return saturate ? 0xfe : 0xff;
    const l = Math.log2(x);
    let e = roundMode === 'down' ? Math.floor(l) : roundMode === 'nearest' ? Math.round(l) : Math.ceil(l);
    e += 127;
    if (e > 254) return saturate ? 0xfe : 0xff;
    return Math.max(0, e);
  }
  const f = FORMATS[t];
  // NaN codes: FNUZ has the single 0x80; E4M3FN uses S.1111.111; E5M2 a quiet NaN S.11111.10.
  const nan = f.fnuz ? 0x80 : f.nanAllOnes ? 0x7f : 0x7e;
  if (Number.isNaN(x)) return f.fnuz ? 0x80 : nan | nanSign;
  const sign = x < 0 || Object.is(x, -0) ? 0x80 : 0;
  const a = Math.abs(x);
  const { v, b } = posCodes(t);
  const max = v[v.length - 1];
  const signed = (code: number) => (f.fnuz && code === 0 ? 0 : code | sign);
  const overflow = f.inf ? sign | 0x7c : f.fnuz ? nan : nan | sign;
  if (a === Infinity) return saturate ? signed(b[b.length - 1]) : overflow;
  // Nearest representable, ties to the even code; past max, a virtual next step decides overflow.
  let lo = 0,
    hi = v.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (v[mid] <= a) lo = mid;
    else hi = mid - 1;
  }
  if (a > max) {
    const next = max + (max - v[v.length - 2]);
    if (a < (max + next) / 2 || saturate) return signed(b[b.length - 1]);
    return overflow;
  }
  if (v[lo] === a) return signed(b[lo]);
  const up = lo + 1;
  const dLo = a - v[lo],
    dUp = v[up] - a;
  const pick = dLo < dUp ? lo : dUp < dLo ? up : (b[lo] & 1) === 0 ? lo : up;
  return signed(b[pick]);
}
