// A deterministic generator for the property tests, so that a failure replays.

/** xorshift32: unsigned 32-bit values from a seed */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}
