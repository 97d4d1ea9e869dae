// npm run fuzz [-- --seed N] [--inputs N] [--seconds S] [--target a,b] [--index I] [--file F]
// Seeded fuzzing of every parser that takes hostile input: FPM framing, decoding and session,
// JSON lines, configuration. Exits 1 on any crash or property violation. A violation prints
// its seed and index: --target T --seed S --index I runs that one input again, with its stack.
import { readFileSync } from 'node:fs';
import { formatReport, runFuzz, violationCount, type FuzzTarget } from './fuzz/harness.js';
import { makeTargets, TARGET_NAMES } from './fuzz/targets.js';

function args(): Map<string, string> {
  const out = new Map<string, string>();
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [k, v] = a.includes('=') ? a.slice(2).split('=', 2) as [string, string] : [a.slice(2), argv[++i] ?? ''];
    out.set(k, v);
  }
  return out;
}

function num(a: Map<string, string>, key: string, dflt: number): number {
  const v = a.get(key);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${key} wants a number, got "${v}"`);
  return n;
}

const a = args();
if (a.has('help')) {
  process.stdout.write(`npm run fuzz -- [--seed N] [--inputs N per target, default 1000000] [--seconds S per target, default 300]\n  [--target ${TARGET_NAMES.join(',')}] [--slow-ms 100] [--save-dir /tmp/rfc5549d-fuzz] [--index I: one input] [--from I: first index] [--file F --target T: a saved input]\n`);
  process.exit(0);
}
const seed = num(a, 'seed', Math.floor(Math.random() * 0x7fffffff)) >>> 0;
const names = (a.get('target') ?? TARGET_NAMES.join(',')).split(',').filter(Boolean);
const targets = makeTargets(names);
const slowMs = a.has('slow-ms') ? num(a, 'slow-ms', 100) : undefined;
process.stdout.write(`rfc5549d fuzz: seed ${seed} (rerun with --seed ${seed}), node ${process.version}\n`);

if (a.has('file')) {
  // a saved input, once, with the whole stack if it throws
  const t = targets[0] as FuzzTarget<unknown>;
  const input = t.deserialize(readFileSync(a.get('file')!));
  const s = performance.now();
  try {
    t.run(input);
    process.stdout.write(`${t.name}: ${a.get('file')}: no violation (${(performance.now() - s).toFixed(2)} ms)\n`);
  } catch (err) {
    process.stdout.write(`${t.name}: ${a.get('file')}: ${(performance.now() - s).toFixed(2)} ms, threw:\n${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  }
  process.exit(0);
}

const index = a.has('index') ? num(a, 'index', 0) : undefined;
const reports = runFuzz(targets, {
  seed,
  inputs: num(a, 'inputs', 1_000_000),
  seconds: num(a, 'seconds', 300),
  ...(slowMs === undefined ? {} : { slowMs }),
  ...(index === undefined ? {} : { index }),
  ...(a.has('from') ? { from: num(a, 'from', 0) } : {}),
  ...(a.has('save-dir') ? { saveDir: a.get('save-dir')! } : {}),
  progress: (l) => process.stdout.write(`${l}\n`),
}, (r) => {
  process.stdout.write(`${formatReport(r)}\n`);
  if (index !== undefined) for (const v of r.violations) if (v.first.stack) process.stdout.write(`${v.first.stack}\n`);
});
const total = violationCount(reports);
process.stdout.write(total === 0 ? 'fuzz: no violations\n' : `fuzz: ${total} violations (exit 1)\n`);
process.exit(total === 0 ? 0 : 1);
