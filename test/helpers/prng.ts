// Owns the tests' seeded pseudo-random generator (mulberry32), so that a randomized test is
// replayed exactly from its seed. bench/lib/prng.mjs is the same generator: a seed means the same
// sequence in both.

/**
 * A deterministic sequence of numbers in [0, 1) from `seed` (mulberry32).
 *
 * @example
 * const random = seeded(0x5eed1234);
 * const id = 1 + Math.floor(random() * 1000);
 */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
