// Owns the benchmark suite's settings: the durations, counts and repetitions of a full and of a
// quick run, and the fixed concurrencies of the workloads. Results files record all of them.

/** Durations (ms), counts and repetitions of a full or a quick (`--quick`) run. */
export function settings(quick) {
  return quick
    ? {
        heavyUsers: 200,
        warmupMs: 150,
        pointMs: 500,
        connectionQueries: 10_000,
        heavyMs: 1_200,
        lagMs: 700,
        mixedMs: 1_200,
        mixedRate: 500,
        tinyTimeMs: 120,
        tinyWarmupMs: 40,
        memorySelects: 200_000,
        memoryWarmup: 20_000,
        writeRows: 20_000,
        repeats: 3,
      }
    : {
        heavyUsers: 1_000,
        warmupMs: 500,
        pointMs: 3_000,
        connectionQueries: 10_000,
        heavyMs: 6_000,
        lagMs: 3_000,
        mixedMs: 4_000,
        mixedRate: 500,
        tinyTimeMs: 1_000,
        tinyWarmupMs: 200,
        memorySelects: 1_000_000,
        memoryWarmup: 100_000,
        writeRows: 100_000,
        repeats: 5,
      };
}

/** Point-select concurrencies unless --concurrency names others. */
export const DEFAULT_CONCURRENCIES = [1, 8, 64];
export const HEAVY_WORKERS = 100;
export const CONNECTION_WORKERS = 5;
export const MIXED_HEAVY_WORKERS = 16;
export const WRITE_CONCURRENCY = 64;
export const MEMORY_CONCURRENCY = 64;
