// npm run bench [-- options]: every measurement of issue 14, repeated --runs times, each run in
// a fresh throwaway namespace, printed as the median and range over the runs. In every run the
// daemon is timed beside the two baselines of that same run (ip -batch and the raw batched
// writer) and its ratios against both are what the figures, the baseline file and --check
// use: the machine is shared and absolute times move with its load. As root.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Command, InvalidArgumentError } from 'commander';
import { kernelTestsBlocked, Topology } from '../test/helpers/netns.js';
import { measureBaselines, RAW_BATCH } from './baselines.js';
import { sec } from './bench-kit.js';
import { measureFpmDecode } from './fpm-decode-rate.js';
import { measureFpmReplay } from './fpm-replay.js';
import { measureJsonl } from './install.js';
import { measurePipeline } from './pipeline.js';
import { profileDaemon } from './profile.js';
import { runBench } from './run-bench.js';
import { checkAgainst, collect, isRatio, spread, type BaselineFile, type RunFigures, type Spread } from './stats.js';
import { FPM_ENCODINGS, type FpmEncoding } from './zebra-frames.js';

const PARTS = ['jsonl', 'fpm', 'decode', 'pipeline'] as const;
const DEFAULT_PARTS: Part[] = ['jsonl', 'fpm', 'decode'];
type Part = (typeof PARTS)[number];
const DEFAULT_BASELINE = new URL('../../bench/baseline.json', import.meta.url);

const count = (v: string): number => {
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1 || n > 10_000_000) throw new InvalidArgumentError('a whole number from 1 to 10,000,000');
  return n;
};
const list = <T extends string>(allowed: readonly T[]) => (v: string): T[] => {
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.find((s) => !allowed.includes(s as T));
  if (bad !== undefined || items.length === 0) throw new InvalidArgumentError(`a comma list of ${allowed.join(', ')}`);
  return items as T[];
};

interface Options {
  runs: number;
  routes: number;
  flapRoutes: number;
  only: Part[];
  encodings: FpmEncoding[];
  pipeline: boolean;
  pipelineRoutes: number;
  mainCopies: boolean;
  profile: false | ProfiledPath;
  check?: string | true;
  writeBaseline?: string | true;
  json?: string;
}

function options(): Options {
  const program = new Command('npm run bench --')
    .description('rfc5549d benchmarks (issue 14): the daemon against ip -batch and raw batched netlink, same run, same namespace')
    .option('--runs <n>', 'runs of every measurement (median and range printed)', count, 3)
    .option('--routes <n>', 'routes of the install, withdraw and FPM replay benches', count, Number(process.env.ROUTES ?? 1_000_000))
    .option('--flap-routes <n>', 'routes on the link of the JSON-lines link flap', count, Number(process.env.ROUTES_FLAP ?? 100_000))
    .option('--only <parts>', `measure only these: ${PARTS.join(', ')} (the baselines run with jsonl or fpm)`, list(PARTS), DEFAULT_PARTS)
    .option('--encodings <list>', `FPM encodings: ${FPM_ENCODINGS.join(', ')}`, list(FPM_ENCODINGS), [...FPM_ENCODINGS])
    .option('--pipeline', 'also FRR bgpd -> zebra -> FPM -> rfc5549d over an unnumbered link (needs FRR); --only pipeline for it alone', false)
    .option('--pipeline-routes <n>', 'routes the peer bgpd announces in --pipeline', count, 200_000)
    .option('--main-copies', 'main also holds every prefix (proto bgp), as zebra\'s copies do (JSON-lines bench)', process.env.MAIN_COPIES === '1')
    .option('--profile [path]', `instead of the runs: the daemon under --cpu-prof, CPU per thread and self time per stage, over one ${PROFILED_PATHS.join(' or ')} install and withdraw of --routes (fpm: a replay of the first of --encodings; --profile alone: fpm)`, profiledPath)
    .option('--check [file]', 'compare the ratios with a baseline (bench/baseline.json); exit 1 on a regression over 10%')
    .option('--write-baseline [file]', 'write the ratios\' medians as the baseline (bench/baseline.json)')
    .option('--json <file>', 'write every sample and the medians as JSON');
  program.parse(process.argv);
  const o = program.opts<Omit<Options, 'profile'> & { profile?: boolean | ProfiledPath }>();
  o.profile = o.profile === true ? 'fpm' : (o.profile ?? false);
  if (o.pipeline && !o.only.includes('pipeline')) o.only = [...o.only, 'pipeline'];
  return o as Options;
}

const PROFILED_PATHS = ['fpm', 'jsonl'] as const;
type ProfiledPath = (typeof PROFILED_PATHS)[number];
const profiledPath = (v: string): ProfiledPath => {
  if (!PROFILED_PATHS.includes(v as ProfiledPath)) throw new InvalidArgumentError(`one of ${PROFILED_PATHS.join(', ')}`);
  return v as ProfiledPath;
};

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
const pad = (s: string, n: number) => s.padEnd(n);
const fmtRange = (s: Spread, f: (x: number) => string): string => (s.n > 1 ? `${f(s.median)} (${f(s.min)}-${f(s.max)})` : f(s.median));
const secs = (ms: number) => (ms / 1000).toFixed(2);
const x1 = (r: number) => r.toFixed(1);
const x2 = (r: number) => r.toFixed(2);
const mps = (r: number) => `${(r / 1e6).toFixed(2)}M`;

/** One run: a fresh namespace, the baselines, then the daemon's measurements. */
async function oneRun(o: Options, run: number, say: (s: string) => void): Promise<RunFigures> {
  const f: RunFigures = {};
  const needsKernel = o.only.includes('jsonl') || o.only.includes('fpm');
  if (needsKernel) {
    const topo = Topology.create();
    const dir = mkdtempSync(join(tmpdir(), 'rfc5549d-bench-'));
    try {
      const b = measureBaselines(topo, dir, o.routes);
      Object.assign(f, { 'ip.install.ms': b.ipAddMs, 'ip.withdraw.ms': b.ipDelMs, 'raw.install.ms': b.rawAddMs, 'raw.withdraw.ms': b.rawDelMs });
      say(`run ${run}: ip -batch ${sec(b.ipAddMs)} / ${sec(b.ipDelMs)}, raw netlink ${sec(b.rawAddMs)} / ${sec(b.rawDelMs)} (install / withdraw), load ${load()}`);
      const ratios = (name: string, addMs: number, delMs: number) => {
        f[`${name}.install.ms`] = addMs;
        f[`${name}.withdraw.ms`] = delMs;
        f[`${name}.install.of-raw`] = b.rawAddMs / addMs;
        f[`${name}.withdraw.of-raw`] = b.rawDelMs / delMs;
        f[`${name}.install.vs-ip`] = b.ipAddMs / addMs;
        f[`${name}.withdraw.vs-ip`] = b.ipDelMs / delMs;
        say(`run ${run}: ${name} install ${sec(addMs)} (${x2(b.rawAddMs / addMs)} of raw, ${x1(b.ipAddMs / addMs)}x ip -batch), withdraw ${sec(delMs)} (${x2(b.rawDelMs / delMs)} of raw, ${x1(b.ipDelMs / delMs)}x ip -batch)`);
      };
      if (o.only.includes('jsonl')) {
        const j = await measureJsonl(topo, o.routes, o.flapRoutes, o.mainCopies, say);
        ratios('jsonl', j.addMs, j.delMs);
        Object.assign(f, { 'jsonl.rss.mb': j.rssMb, 'jsonl.status.ms': j.statusMs, 'jsonl.resync.ms': j.resyncMs, 'jsonl.flap.ms': j.flapMs, 'jsonl.flap-events.ms': j.flapEventsMs });
        if (j.flapPassMs !== undefined) f['jsonl.flap-pass.ms'] = j.flapPassMs;
        if (j.flapEventsPassMs !== undefined) f['jsonl.flap-watcher-lag.ms'] = j.flapEventsMs - j.flapEventsPassMs;
        f['jsonl.flap-watcher-cpu.ms'] = j.flapWatcherCpuMs;
        const pass = (at: number | undefined) => (at === undefined ? '' : ` (its pass logged at ${Math.round(at)} ms)`);
        say(`run ${run}: jsonl RSS ${j.rssMb} MB, status round trip ${j.statusMs.toFixed(1)} ms, converged resync ${Math.round(j.resyncMs)} ms (${j.resyncWrites} writes)`);
        say(`run ${run}: link flap ${Math.round(j.flapMs)} ms by the daemon's acknowledged state${pass(j.flapPassMs)}, ${Math.round(j.flapEventsMs)} ms by route events in a second flap${pass(j.flapEventsPassMs)}, the watcher using ${Math.round(j.flapWatcherCpuMs)} ms of CPU`);
      }
      if (o.only.includes('fpm')) {
        for (const enc of o.encodings) {
          const r = await measureFpmReplay(topo, o.routes, enc);
          ratios(`fpm-${enc}`, r.addMs, r.delMs);
          f[`fpm-${enc}.rss.mb`] = r.rssMb;
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      topo.destroy();
    }
  }
  if (o.only.includes('decode')) {
    for (const enc of o.encodings) {
      const d = measureFpmDecode(enc, o.routes);
      f[`decode-${enc}.add.msg-per-s`] = d.addPerSec;
      f[`decode-${enc}.del.msg-per-s`] = d.delPerSec;
    }
    say(`run ${run}: FPM decode ${o.encodings.map((e) => `${e} ${mps(f[`decode-${e}.add.msg-per-s`]!)}/${mps(f[`decode-${e}.del.msg-per-s`]!)}`).join(', ')} msg/s (adds/deletes)`);
  }
  if (o.only.includes('pipeline')) {
    const p = await measurePipeline(o.pipelineRoutes, say);
    Object.assign(f, { 'pipeline.zebra.ms': p.zebraMs, 'pipeline.ours.ms': p.oursMs, 'pipeline.lag.ms': p.oursMs - p.zebraMs });
    say(`run ${run}: pipeline ${o.pipelineRoutes.toLocaleString('en-US')} routes: zebra's main complete ${sec(p.zebraMs)}, our table ${sec(p.oursMs)} after the announcement began (one route-event watcher for both: ${p.watcherMessages.toLocaleString('en-US')} events, ${Math.round(p.watcherCpuMs)} ms of its CPU)`);
  }
  return f;
}

function report(o: Options, samples: Record<string, number[]>, say: (s: string) => void): Record<string, number> {
  const medians: Record<string, number> = {};
  const s = (k: string): Spread | undefined => (samples[k] ? spread(samples[k]) : undefined);
  for (const k of Object.keys(samples)) medians[k] = s(k)!.median;
  const n = o.routes;
  const target = n >= 1_000_000 ? 0.85 : 0.8;
  const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
  say('');
  const routesLine = samples['ip.install.ms'] ? `, ${n.toLocaleString('en-US')} /32 routes via 169.254.0.1 dev h0 onlink; raw netlink: ${RAW_BATCH} per sendmsg, ACK on the last` : '';
  say(`median (range) of ${o.runs} run${o.runs > 1 ? 's' : ''}${routesLine}; load average now ${load()}`);
  if (samples['ip.install.ms']) say(`${pad('', 22)}${pad('install', 26)}${pad('withdraw', 26)}${pad('install vs ip -batch', 22)}${pad('withdraw vs ip -batch', 22)}${pad('install of raw', 20)}${pad('withdraw of raw', 20)}target (of raw >= ${target})`);
  for (const [name, label] of [['ip', 'ip -batch'], ['raw', 'raw netlink']] as const) {
    const a = s(`${name}.install.ms`);
    const d = s(`${name}.withdraw.ms`);
    if (a && d) say(`${pad(label, 22)}${pad(`${fmtRange(a, secs)} s`, 26)}${pad(`${fmtRange(d, secs)} s`, 26)}${name === 'raw' ? `${pad(`${fmtRange(spread(samples['ip.install.ms']!.map((v, i) => v / samples['raw.install.ms']![i]!)), x1)}x`, 22)}${fmtRange(spread(samples['ip.withdraw.ms']!.map((v, i) => v / samples['raw.withdraw.ms']![i]!)), x1)}x` : ''}`);
  }
  for (const name of ['jsonl', ...o.encodings.map((e) => `fpm-${e}`)]) {
    const a = s(`${name}.install.ms`);
    if (!a) continue;
    const d = s(`${name}.withdraw.ms`)!;
    const ar = s(`${name}.install.of-raw`)!;
    const dr = s(`${name}.withdraw.of-raw`)!;
    const label = name === 'jsonl' ? 'rfc5549d JSON lines' : `rfc5549d FPM ${name.slice(4)}`;
    say(`${pad(label, 22)}${pad(`${fmtRange(a, secs)} s`, 26)}${pad(`${fmtRange(d, secs)} s`, 26)}${pad(`${fmtRange(s(`${name}.install.vs-ip`)!, x1)}x`, 22)}${pad(`${fmtRange(s(`${name}.withdraw.vs-ip`)!, x1)}x`, 22)}${pad(fmtRange(ar, x2), 20)}${pad(fmtRange(dr, x2), 20)}install ${mark(ar.median >= target)}, withdraw ${mark(dr.median >= target)}`);
  }
  const rss = ['jsonl', ...o.encodings.map((e) => `fpm-${e}`)].map((k) => [k, s(`${k}.rss.mb`)] as const).filter(([, v]) => v);
  if (rss.length) say(`daemon RSS with ${n.toLocaleString('en-US')} routes installed: ${rss.map(([k, v]) => `${k} ${fmtRange(v!, (m) => String(Math.round(m)))} MB`).join(', ')}   (target <= 150 MB)`);
  const resync = s('jsonl.resync.ms');
  if (resync) say(`converged full resync (dump + diff, 0 writes): ${fmtRange(resync, (m) => String(Math.round(m)))} ms   (target <= 1.0 s ${mark(resync.median <= 1000)})`);
  const status = s('jsonl.status.ms');
  if (status) say(`one status request with ${n.toLocaleString('en-US')} routes installed (the clock of install, withdraw and flap): ${fmtRange(status, (m) => m.toFixed(1))} ms round trip`);
  const flap = s('jsonl.flap.ms');
  const msRange = (k: string) => fmtRange(s(k)!, (m) => String(Math.round(m)));
  if (flap) say(`link down/up with ${o.flapRoutes.toLocaleString('en-US')} routes, all back after link up, by the daemon's acknowledged state (status every 5 ms, then a dump): ${msRange('jsonl.flap.ms')} ms   (target <= 0.5 s ${mark(flap.median <= 500)})`);
  if (s('jsonl.flap-pass.ms')) say(`  the same flap by the daemon's log (the end of the pass that wrote them, a clock that costs nothing): ${msRange('jsonl.flap-pass.ms')} ms`);
  if (s('jsonl.flap-events.ms')) say(`  a second flap by route events (bench/route-watch.ts, a process beside the daemon): ${msRange('jsonl.flap-events.ms')} ms${s('jsonl.flap-watcher-lag.ms') ? `, the watcher done ${msRange('jsonl.flap-watcher-lag.ms')} ms after the daemon's pass` : ''}${s('jsonl.flap-watcher-cpu.ms') ? `, using ${msRange('jsonl.flap-watcher-cpu.ms')} ms of CPU` : ''}`);
  for (const enc of o.encodings) {
    const a = s(`decode-${enc}.add.msg-per-s`);
    const d = s(`decode-${enc}.del.msg-per-s`);
    if (a && d) say(`FPM decode in-process, ${enc}: adds ${fmtRange(a, mps)} msg/s, deletes ${fmtRange(d, mps)} msg/s   (target >= 1M msg/s ${mark(Math.min(a.median, d.median) >= 1e6)})`);
  }
  const z = s('pipeline.zebra.ms');
  if (z) {
    say(`pipeline, ${o.pipelineRoutes.toLocaleString('en-US')} routes from a peer bgpd over an unnumbered link: all in zebra's main ${fmtRange(z, secs)} s, all in our table ${fmtRange(s('pipeline.ours.ms')!, secs)} s after the announcement began; ours after zebra's: ${fmtRange(s('pipeline.lag.ms')!, secs)} s`);
  }
  return medians;
}

function baselinePath(v: string | true | undefined): string {
  return typeof v === 'string' ? v : DEFAULT_BASELINE.pathname;
}

async function main(): Promise<void> {
  const o = options();
  const blocked = kernelTestsBlocked();
  if (blocked && (o.only.some((p) => p !== 'decode') || o.profile)) throw new Error(`the bench needs root and ip netns: ${blocked}`);
  const say = (line: string) => console.log(line);
  say(`rfc5549d bench: kernel ${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()}, ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} CPUs, node ${process.version}, load average ${load()}`);
  if (o.profile) {
    await profileDaemon(o.routes, o.profile === 'jsonl' ? { kind: 'jsonl' } : { kind: 'fpm', encoding: o.encodings[0] ?? 'classic' }, say);
    return;
  }
  const started = performance.now();
  const runs: RunFigures[] = [];
  for (let i = 1; i <= o.runs; i++) runs.push(await oneRun(o, i, say));
  const samples = collect(runs);
  const medians = report(o, samples, say);
  say(`(${o.runs} run${o.runs > 1 ? 's' : ''} in ${((performance.now() - started) / 60_000).toFixed(1)} min)`);
  if (o.json) writeFileSync(o.json, `${JSON.stringify({ options: o, loadAverage: load(), samples, medians }, null, 1)}\n`);
  if (o.writeBaseline) {
    const file = baselinePath(o.writeBaseline);
    const ratios = Object.fromEntries(Object.entries(medians).filter(([k]) => isRatio(k)).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
    const b: BaselineFile = { routes: o.routes, written: new Date().toISOString(), loadAverage: load(), runs: o.runs, ratios };
    writeFileSync(file, `${JSON.stringify(b, null, 2)}\n`);
    say(`baseline written: ${file} (${Object.keys(ratios).length} ratios)`);
  }
  if (o.check) {
    const file = baselinePath(o.check);
    const b = JSON.parse(readFileSync(file, 'utf8')) as BaselineFile;
    if (b.routes !== o.routes) throw new Error(`${file} was written at ${b.routes.toLocaleString('en-US')} routes, this run has ${o.routes.toLocaleString('en-US')}: ratios at different sizes do not compare`);
    say('');
    say(`check against ${file} (written ${b.written}, load ${b.loadAverage}, ${b.runs} runs): a ratio more than 10% below its baseline fails`);
    const lines = checkAgainst(b, medians);
    for (const l of lines) {
      const now = l.now === undefined ? 'not measured' : `${l.now.toFixed(3)} (${l.change! >= 0 ? '+' : ''}${(l.change! * 100).toFixed(1)}%)`;
      say(`  ${pad(l.name, 30)} baseline ${l.baseline.toFixed(3)}  now ${pad(now, 22)} ${l.regressed ? 'REGRESSED' : 'ok'}`);
    }
    const bad = lines.filter((l) => l.regressed);
    if (bad.length) {
      say(`${bad.length} ratio${bad.length > 1 ? 's' : ''} regressed over 10%`);
      process.exitCode = 1;
    }
  }
}

runBench(main);
