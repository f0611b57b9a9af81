/**
 * Text from model files (names, op types, doc strings) reaches terminals and reports. `printable` makes it
 * inert: control characters (C0, DEL, C1 — ESC, CR, LF, the CSI introducer), bidirectional overrides and
 * line/paragraph separators become visible escapes (\x1b, \u202e), and anything longer than `max` is cut
 * with an ellipsis, so a hostile name can neither move the cursor, rewrite a line, nor flood the screen.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

export function printable(s: string, max = 200): string {
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return cut.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
