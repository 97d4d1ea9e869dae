// The fuzz runner: seeded, bounded by count and time, and checking three properties per
// input: no exception but the project's typed ones, no input over the time budget, and
// (over the run) no heap growth. Targets live next to it; bench/fuzz.ts is the CLI and
// test/unit/fuzz.test.ts the short pass CI runs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { nameHash, Rng } from './rng.js';

export interface FuzzTarget<I> {
  readonly name: string;
  /** what the reproducer file holds: .bin, .txt, .yaml */
  readonly fileExt: string;
  /** this target's per-input budget when the run sets none (FuzzOptions.slowMs); default 100 ms */
  readonly slowMs?: number;
  /** A pure function of the rng: the same (seed, index) gives the same input. */
  generate(rng: Rng): I;
  /**
   * Runs one input through the project's code. Catches the errors the code is allowed to
   * end with (typed errors, error results) and checks what comes out; throws
   * PropertyViolation for a wrong result. Any other exception is a crash.
   */
  run(input: I): void;
  serialize(input: I): Buffer;
  deserialize(bytes: Buffer): I;
}

/** A result the code returned normally but that breaks a property (e.g. table 255 accepted). */
export class PropertyViolation extends Error {
  /** `group`: what tells two violations of one property apart in the summary (a field, say) */
  constructor(readonly property: string, message: string, readonly group?: string) {
    super(`${property}: ${message}`);
    this.name = 'PropertyViolation';
  }
}

type ViolationKind = 'crash' | 'property' | 'slow' | 'memory';

interface ViolationGroup {
  readonly kind: ViolationKind;
  readonly signature: string;
  count: number;
  readonly first: { readonly index: number; readonly message: string; readonly stack?: string; readonly file?: string };
  /** up to 5 more inputs that break it differently (another message kind, another field) */
  readonly others: { readonly index: number; readonly message: string; readonly variant: string }[];
}

interface MemoryReport {
  rssStartMb: number;
  rssEndMb: number;
  rssMaxMb: number;
  /** index of the input after which the largest RSS was seen */
  rssMaxAt: number;
  heapWarmMb: number;
  heapEndMb: number;
}

export interface TargetReport {
  readonly target: string;
  readonly seed: number;
  /** the per-input budget this run held it to */
  readonly slowMs: number;
  inputs: number;
  seconds: number;
  stoppedBy: 'inputs' | 'time';
  slowest: { index: number; ms: number; file?: string };
  slowInputs: number;
  /** inputs over the budget once that were inside it on a later re-check (load, GC) */
  slowUnconfirmed: number;
  violations: ViolationGroup[];
  memory: MemoryReport;
}

export interface FuzzOptions {
  readonly seed: number;
  /** inputs per target */
  readonly inputs: number;
  /** wall-clock budget per target, seconds */
  readonly seconds: number;
  /** the per-input budget: slower is a violation */
  readonly slowMs?: number;
  /** heap growth over the run (after a GC, warm-up to end) that counts as a leak */
  readonly maxHeapGrowthMb?: number;
  /** run this one index only (a reproducer) */
  readonly index?: number;
  /** the first index of the run (default 0): two runs with one seed can split a range */
  readonly from?: number;
  /** where reproducer inputs are written */
  readonly saveDir?: string;
  readonly progress?: (line: string) => void;
}

const MB = 1024 * 1024;
const mb = (n: number): number => Math.round((n / MB) * 10) / 10;

let gcFn: (() => void) | undefined | null = null;
/** A forced GC for heap measurements: node --expose-gc, or turned on at run time. */
function gc(): void {
  if (gcFn === null) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) gcFn = g;
    else {
      try {
        setFlagsFromString('--expose-gc');
        gcFn = runInNewContext('gc') as () => void;
      } catch {
        gcFn = undefined;
      }
    }
  }
  gcFn?.();
}

const reproCommand = (target: string, seed: number, index: number): string => `npm run fuzz -- --target ${target} --seed ${seed} --index ${index}`;

function signatureOf(kind: ViolationKind, err: unknown): string {
  if (err instanceof PropertyViolation) return err.property;
  if (!(err instanceof Error)) return `${kind}: non-Error thrown: ${String(err).slice(0, 100)}`;
  const msg = (err.message.split('\n')[0] ?? '').replace(/\d+/g, 'N').replace(/"[^"]{12,}"/g, '"…"').slice(0, 140);
  // where in the project it was thrown, so two bugs with one message stay apart
  const at = (err.stack ?? '').split('\n').find((l) => /\/src\//.test(l))?.replace(/^.*\/src\//, 'src/').replace(/\)$/, '').replace(/:\d+$/, '') ?? '';
  return `${err.name}: ${msg}${at ? ` [${at}]` : ''}`;
}

export function runTarget<I>(target: FuzzTarget<I>, opts: FuzzOptions): TargetReport {
  const slowMs = opts.slowMs ?? target.slowMs ?? 100;
  const saveDir = opts.saveDir ?? '/tmp/rfc5549d-fuzz';
  const stream = nameHash(target.name);
  const save = (index: number, input: I): string => {
    mkdirSync(saveDir, { recursive: true });
    const file = join(saveDir, `${target.name}-${opts.seed}-${index}.${target.fileExt}`);
    writeFileSync(file, target.serialize(input));
    return file;
  };
  const groups = new Map<string, ViolationGroup>();
  const variants = new Map<string, Set<string>>();
  const record = (kind: ViolationKind, signature: string, index: number, message: string, input: I | undefined, stack?: string, variant = ''): void => {
    const g = groups.get(signature);
    if (g) {
      g.count++;
      const seen = variants.get(signature)!;
      if (!seen.has(variant) && g.others.length < 5) {
        seen.add(variant);
        g.others.push({ index, message: message.slice(0, 300), variant });
      }
      return;
    }
    variants.set(signature, new Set([variant]));
    const file = input === undefined ? undefined : save(index, input);
    groups.set(signature, { kind, signature, count: 1, first: { index, message: message.slice(0, 2000), ...(stack ? { stack } : {}), ...(file ? { file } : {}) }, others: [] });
  };

  gc();
  const m0 = process.memoryUsage();
  const memory: MemoryReport = { rssStartMb: mb(m0.rss), rssEndMb: 0, rssMaxMb: mb(m0.rss), rssMaxAt: -1, heapWarmMb: mb(m0.heapUsed), heapEndMb: 0 };
  const sampleRss = (index: number): void => {
    const rss = mb(process.memoryUsage.rss());
    if (rss > memory.rssMaxMb) {
      memory.rssMaxMb = rss;
      memory.rssMaxAt = index;
    }
  };
  const report: TargetReport = {
    target: target.name, seed: opts.seed, slowMs, inputs: 0, seconds: 0, stoppedBy: 'inputs',
    slowest: { index: -1, ms: 0 }, slowInputs: 0, slowUnconfirmed: 0, violations: [], memory,
  };
  const first = opts.index ?? opts.from ?? 0;
  const count = opts.index === undefined ? opts.inputs : 1;
  const warmAt = Math.min(2000, Math.floor(count / 10));
  let slowestInput: I | undefined;
  const suspects: number[] = [];
  const confirmSlow = (index: number, input: I, ms: number): void => {
    report.slowInputs++;
    record('slow', `slow: an input took over ${slowMs} ms`, index, `input took ${ms.toFixed(1)} ms (budget ${slowMs} ms; the best of its re-runs)`, input);
  };
  const t0 = performance.now();
  let lastProgress = t0;
  for (let n = 0; n < count; n++) {
    const index = first + n;
    if (n === warmAt && count > 1) {
      gc();
      memory.heapWarmMb = mb(process.memoryUsage().heapUsed);
    }
    const input = target.generate(new Rng(opts.seed, stream, index));
    const s = performance.now();
    let thrown: unknown;
    let threw = false;
    try {
      target.run(input);
    } catch (err) {
      threw = true;
      thrown = err;
    }
    let ms = performance.now() - s;
    if (ms > slowMs && !threw) {
      // a GC pause or a busy neighbour is not the input's fault: it is slow only if it stays slow
      for (let again = 0; again < 2 && ms > slowMs; again++) {
        const s2 = performance.now();
        try {
          target.run(input);
        } catch {
          /* it did not throw the first time; the timing is what is measured here */
        }
        ms = Math.min(ms, performance.now() - s2);
      }
    }
    report.inputs++;
    if (threw) {
      const kind: ViolationKind = thrown instanceof PropertyViolation ? 'property' : 'crash';
      const err = thrown instanceof Error ? thrown : new Error(String(thrown));
      record(kind, signatureOf(kind, err), index, `${err.name}: ${err.message}`, input, kind === 'crash' ? err.stack?.split('\n').slice(0, 8).join('\n') : undefined, err instanceof PropertyViolation ? err.group : undefined);
    }
    if (ms > report.slowest.ms) {
      report.slowest = { index, ms };
      slowestInput = input;
    }
    if (ms > slowMs) {
      if (suspects.length < 1000) suspects.push(index);
      else confirmSlow(index, input, ms);
    }
    if (ms > 20 || (n & 255) === 0) sampleRss(index);
    const now = performance.now();
    if (opts.progress && now - lastProgress > 10_000) {
      lastProgress = now;
      opts.progress(`  ${target.name}: ${report.inputs} inputs, ${Math.round(report.inputs / ((now - t0) / 1000))}/s, ${groups.size} violation kinds so far`);
    }
    if (now - t0 > opts.seconds * 1000) {
      if (n + 1 < count) report.stoppedBy = 'time';
      break;
    }
  }
  report.seconds = (performance.now() - t0) / 1000;
  // Slow inputs again, away from the moment they were slow (a load spike passes): slow only
  // if the best of three later runs is still over the budget.
  for (const index of suspects) {
    const input = target.generate(new Rng(opts.seed, stream, index));
    let best = Infinity;
    for (let i = 0; i < 3 && best > slowMs; i++) {
      const s = performance.now();
      try {
        target.run(input);
      } catch {
        /* its verdict was taken in the main loop */
      }
      best = Math.min(best, performance.now() - s);
    }
    if (best > slowMs) confirmSlow(index, input, best);
    else report.slowUnconfirmed++;
  }
  sampleRss(first + report.inputs - 1);
  gc();
  const mEnd = process.memoryUsage();
  memory.rssEndMb = mb(mEnd.rss);
  memory.heapEndMb = mb(mEnd.heapUsed);
  const growth = memory.heapEndMb - memory.heapWarmMb;
  if (count > 1000 && growth > (opts.maxHeapGrowthMb ?? 64)) {
    record('memory', 'memory: heap grew over the run', first + report.inputs - 1, `heap after GC grew ${growth.toFixed(1)} MB from warm-up (input ${first + warmAt}) to the end`, undefined);
  }
  if (slowestInput !== undefined && report.slowest.ms > slowMs) {
    const slowGroup = groups.get(`slow: an input took over ${slowMs} ms`);
    report.slowest.file = slowGroup?.first.index === report.slowest.index ? slowGroup.first.file : save(report.slowest.index, slowestInput);
  }
  report.violations = [...groups.values()];
  return report;
}

export function runFuzz(targets: readonly FuzzTarget<unknown>[], opts: FuzzOptions, onReport: (r: TargetReport) => void = () => {}): TargetReport[] {
  return targets.map((t) => {
    opts.progress?.(`fuzzing ${t.name} (seed ${opts.seed}, ${opts.index === undefined ? `up to ${opts.inputs} inputs or ${opts.seconds} s` : `input ${opts.index}`})`);
    const r = runTarget(t, opts);
    onReport(r);
    return r;
  });
}

export function formatReport(r: TargetReport): string {
  const slowMs = r.slowMs;
  const rate = r.seconds > 0 ? Math.round(r.inputs / r.seconds) : 0;
  const crashes = r.violations.filter((v) => v.kind === 'crash').reduce((n, v) => n + v.count, 0);
  const props = r.violations.filter((v) => v.kind === 'property').reduce((n, v) => n + v.count, 0);
  const m = r.memory;
  const lines = [
    `${r.target}: seed ${r.seed}, ${r.inputs} inputs in ${r.seconds.toFixed(1)} s (${rate}/s${r.stoppedBy === 'time' ? ', stopped by --seconds' : ''}), crashes ${crashes}, property violations ${props}, inputs over ${slowMs} ms ${r.slowInputs}${r.slowUnconfirmed ? ` (and ${r.slowUnconfirmed} once, not on re-check)` : ''}`,
    `  slowest: input ${r.slowest.index}, ${r.slowest.ms.toFixed(2)} ms${r.slowest.file ? ` (${r.slowest.file})` : ''}; reproduce: ${reproCommand(r.target, r.seed, r.slowest.index)}`,
    `  memory: rss start ${m.rssStartMb} MB, end ${m.rssEndMb} MB, max ${m.rssMaxMb} MB${m.rssMaxAt >= 0 ? ` (after input ${m.rssMaxAt})` : ''}; heap after GC ${m.heapWarmMb} MB at warm-up, ${m.heapEndMb} MB at the end`,
  ];
  for (const v of r.violations) {
    lines.push(`  VIOLATION ${v.kind} x${v.count}: ${v.signature}`);
    lines.push(`    first: input ${v.first.index}: ${escapeControls(v.first.message.slice(0, 300))}`);
    if (v.first.file) lines.push(`    input saved: ${v.first.file}`);
    lines.push(`    reproduce: ${reproCommand(r.target, r.seed, v.first.index)}`);
    for (const o of v.others) lines.push(`    also input ${o.index}: ${escapeControls(o.message.slice(0, 160))}`);
  }
  return lines.join('\n');
}

const escapeControls = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** One line per violation kind, for an assertion message. */
export const violationLines = (r: TargetReport): string[] =>
  r.violations.map((v) => `${v.kind} x${v.count}: ${v.signature}; first: ${reproCommand(r.target, r.seed, v.first.index)}`);

export const violationCount = (reports: readonly TargetReport[]): number => reports.reduce((n, r) => n + r.violations.reduce((k, v) => k + v.count, 0), 0);
