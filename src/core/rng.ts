/** xorshift32: the small, seedable generator behind random inputs, data shuffles and initial weights. */
export function xorshift(state: number): () => number {
  let s = state >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}
