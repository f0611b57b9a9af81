/**
 * Text from model files (names, op types, doc strings) reaches terminals and reports. `printable` makes it
 * inert: control characters (C0, DEL, C1 — ESC, CR, LF, the CSI introducer), bidirectional overrides and
 * line/paragraph separators become visible escapes (\x1b, \u202e), and anything longer than `max` is cut
 * with an ellipsis, so a hostile name can neither move the cursor, rewrite a line, nor flood the screen.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** Model-derived text made safe for a terminal: control characters escaped, cut to `max` characters. */
export function printable(s: string, max = 200): string {
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return cut.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * Model-derived text in generated TypeScript, one escaper per context — it must never close its context and
 * become code: a string literal (JSON's escapes, plus U+2028/2029), a comment (printable, and `*\/` cannot end
 * it), a property name (an identifier as is, anything else a string literal).
 */
export const tsLiteral = (v: unknown): string =>
  JSON.stringify(v)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
export const tsString = (s: string): string => tsLiteral(s);
export const tsComment = (s: string): string => printable(s, 200).replace(/\*\//g, '*\\/');
export const tsKey = (s: string): string => (/^[A-Za-z_$][\w$]*$/.test(s) ? s : tsString(s));

/**
 * A name as one shell word that stays inert when pasted: single-quoted, or — when it holds control characters,
 * bidirectional overrides or line separators — bash's $'…' with each of those as a \xHH / \uHHHH escape.
 */
export function shellQuote(s: string): string {
  if (!new RegExp(UNSAFE.source).test(s)) return `'${s.replace(/'/g, `'\\''`)}'`;
  return `$'${s.replace(/[\\']/g, '\\$&').replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  })}'`;
}

/** Edit distance (insertions, deletions, substitutions), case-insensitive: for "did you mean". */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
/** Up to `n` candidates closest to `s` (within a third of its length, at least 2 edits), closest first. */
export function closest(s: string, candidates: Iterable<string>, n = 3): string[] {
  const limit = Math.max(2, Math.floor(s.length / 3));
  return [...new Set(candidates)]
    .map((c) => [c, distance(s, c)] as const)
    .filter(([, d]) => d <= limit)
    .sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1))
    .slice(0, n)
    .map(([c]) => c);
}

/** A count with thousands separators (1,234,567), the same on every locale. */
export const fmtCount = (n: number): string => n.toLocaleString('en-US');
