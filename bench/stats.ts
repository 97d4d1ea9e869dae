// Figures over repeated runs, and the baseline check: pure, so test/unit/bench-stats.test.ts
// can hold it to its word without running a bench.
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** The median (the mean of the middle two for an even count), min and max of the samples. */
export function spread(samples: readonly number[]): Spread {
  if (samples.length === 0) throw new Error('spread of no samples');
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

/** One run's figures by name ("fpm-classic.install.of-raw" ...). */
export type RunFigures = Record<string, number>;

/** Each figure's samples across runs (a figure missing from a run is left out of that run). */
export function collect(runs: readonly RunFigures[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r)) if (Number.isFinite(v)) (out[k] ??= []).push(v);
  return out;
}

/** The figures --check compares: the daemon's ratios against raw netlink and ip -batch (higher is better). */
export const isRatio = (name: string): boolean => name.endsWith('.of-raw') || name.endsWith('.vs-ip');

export interface BaselineFile {
  /** what wrote it, so a check against a different size says so instead of comparing */
  readonly routes: number;
  readonly written: string;
  readonly loadAverage: string;
  readonly runs: number;
  /** median of each ratio */
  readonly ratios: Record<string, number>;
}

export interface CheckLine {
  readonly name: string;
  readonly baseline: number;
  readonly now: number | undefined;
  /** now / baseline - 1 */
  readonly change: number | undefined;
  readonly regressed: boolean;
}

/**
 * Each baseline ratio against this run's median: a regression is a ratio more than
 * `tolerance` (0.10: 10%) below its baseline. A ratio not measured now is listed, not failed
 * (--only runs a part); one measured now and absent from the baseline is not compared.
 */
export function checkAgainst(baseline: BaselineFile, medians: Record<string, number>, tolerance = 0.1): CheckLine[] {
  return Object.entries(baseline.ratios).map(([name, base]) => {
    const now = medians[name];
    if (now === undefined) return { name, baseline: base, now, change: undefined, regressed: false };
    const change = now / base - 1;
    return { name, baseline: base, now, change, regressed: change < -tolerance };
  });
}
