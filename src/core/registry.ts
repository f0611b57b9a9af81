/**
 * Registries (op key → kernel, rule…) are built from one table per family. `register` merges them and refuses a
 * key that two tables claim: with object spread the later one would win silently, and which kernel runs would
 * depend on the order of a list.
 */
export function register<T>(what: string, ...tables: Record<string, T>[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const table of tables) {
    for (const [key, entry] of Object.entries(table)) {
      if (Object.hasOwn(out, key)) throw new Error(`${what}: '${key}' is registered twice`);
      out[key] = entry;
    }
  }
  return out;
}
