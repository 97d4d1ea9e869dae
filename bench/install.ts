// Install and withdraw throughput against `ip -batch`, in the same run, in a throwaway
// namespace: the same /32 onlink routes, through the daemon's real path (JSON-lines socket
// -> RIB -> reconciler -> netlink), timed until the kernel holds them all (the daemon's
// acknowledged state, then checked by a dump), and against the raw baseline: the same routes
// hand-encoded, packed per sendmsg, ACK on the last (bench/raw-netlink.ts). Also: daemon RSS at full table, a converged
// full resync, and a link flap with ROUTES_FLAP routes.  Run: npm run bench (as root).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { askDaemon } from '../src/cli/control-client.js';
import { DaemonProcess, type FeedClient } from '../test/helpers/daemon.js';
import { kernelTestsBlocked, PEER_LL, Topology } from '../test/helpers/netns.js';
import { runBench } from './run-bench.js';

const N = Number(process.env.ROUTES ?? 1_000_000);
const N_FLAP = Number(process.env.ROUTES_FLAP ?? 100_000);
/** MAIN_COPIES=1: main also holds every prefix (proto bgp), as zebra's copies do next to it */
const MAIN_COPIES = process.env.MAIN_COPIES === '1';
const TABLE = 1000;
const PROTOCOL = 200;
const METRIC = 20;
const CHUNK = 20_000;
/** routes the raw writer packs per sendmsg, ACK on the last (the measurement) */
const RAW_BATCH = 3000;
/** node's options as systemd/rfc5549d.service runs the daemon (its Environment=NODE_OPTIONS) */
const DAEMON_NODE_ARGS = (/^Environment=NODE_OPTIONS=(.*)$/m.exec(readFileSync(new URL('../../systemd/rfc5549d.service', import.meta.url), 'utf8'))?.[1] ?? '').split(' ').filter(Boolean);
/** PROFILE_DIR=dir: the daemon runs with --cpu-prof (main thread and request worker), stopped by SIGTERM so it writes them */
const PROFILE_DIR = process.env.PROFILE_DIR;
const RAW_WRITER = fileURLToPath(new URL('./raw-netlink.js', import.meta.url));

const dst = (i: number): string => `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
const rate = (n: number, ms: number): string => `${Math.round(n / (ms / 1000)).toLocaleString('en-US')}/s`;
const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function kernelCount(ns: string): number {
  const r = spawnSync('sh', ['-c', `ip -n ${ns} route show table ${TABLE} | wc -l`], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

function ipBatch(ns: string, file: string): number {
  const t0 = performance.now();
  const r = spawnSync('ip', ['-n', ns, '-batch', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`ip -batch: ${r.stderr.slice(0, 300)}`);
  return performance.now() - t0;
}

/** The raw writer, run inside the namespace; its own clock (sendmsg to the last ACK). */
function rawBatch(ns: string, op: 'add' | 'del'): number {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, RAW_WRITER, op, String(N), String(TABLE), String(PROTOCOL), String(METRIC), 'h0', String(RAW_BATCH)], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`raw netlink ${op}: exit ${r.status ?? r.signal}: ${r.stderr.slice(0, 300)}`);
  const { ms } = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { ms: number };
  return ms;
}

interface Status { routes: { desired: number; installed: number; pending: number; ownedInKernel: number } }

async function waitOwned(control: string, want: number, timeoutMs = 300_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const s = (await askDaemon(control, { command: 'status' }, 30_000)) as Status;
    if (s.routes.ownedInKernel === want && s.routes.desired === want && s.routes.pending === 0) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${JSON.stringify(s.routes)} (want ${want})`);
    await sleep(20);
  }
}

/**
 * The feed's text, made before the clock starts: ip -batch reads a file written beforehand,
 * and a feeder building lines between writes would time the feeder, not the daemon.
 */
function feedText(from: number, to: number, line: (i: number) => string): string[] {
  const chunks: string[] = [];
  for (let i = from; i < to; i += CHUNK) {
    let text = '';
    for (let j = i; j < Math.min(to, i + CHUNK); j++) text += line(j);
    chunks.push(text);
  }
  return chunks;
}

async function send(feed: FeedClient, chunks: readonly string[]): Promise<void> {
  for (const text of chunks) await feed.write(text);
}

const addLine = (i: number) => `{"op":"add","prefix":"${dst(i)}/32","nexthops":[{"via":"${PEER_LL}","dev":"h0"}]}\n`;
const withdrawLine = (i: number) => `{"op":"withdraw","prefix":"${dst(i)}/32"}\n`;

/** user and sys CPU ms of each thread of a process, by name/tid (/proc/PID/task/TID/stat; the lowest node tid is the main thread) */
function threadCpu(pid: number): Map<string, { user: number; sys: number }> {
  const out = new Map<string, { user: number; sys: number }>();
  const tick = 1000 / 100; // USER_HZ
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(`${name}/${tid}`, { user: Number(f[11]) * tick, sys: Number(f[12]) * tick });
    } catch {
      /* the thread ended */
    }
  }
  return out;
}

/** CPU per thread spent between two threadCpu() readings, the busy ones, as one line */
function cpuDelta(before: Map<string, { user: number; sys: number }>, after: Map<string, { user: number; sys: number }>): string {
  const parts: string[] = [];
  for (const [name, a] of after) {
    const b = before.get(name) ?? { user: 0, sys: 0 };
    const user = a.user - b.user;
    const sys = a.sys - b.sys;
    if (user + sys >= 20) parts.push(`${name} user ${Math.round(user)} sys ${Math.round(sys)} ms`);
  }
  return parts.join(', ');
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

async function main(): Promise<void> {
  const blocked = kernelTestsBlocked();
  if (blocked) throw new Error(`install bench needs root and ip netns: ${blocked}`);
  const topo = Topology.create();
  const daemon = new DaemonProcess(topo.host, { log: { level: 'info' }, kernel: { table: TABLE, protocol: PROTOCOL }, limits: { 'max-routes': N + N_FLAP } },
    {}, [...DAEMON_NODE_ARGS, ...(PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [])]);
  const out: string[] = [];
  const say = (s: string) => {
    out.push(s);
    console.log(s);
  };
  try {
    say(`rfc5549d install bench: ${N.toLocaleString('en-US')} /32 routes via 169.254.0.1 dev h0 onlink, table ${TABLE}, kernel ${spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim()}, ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} CPUs`);

    // Baseline: ip -batch, same routes, same namespace.
    const addFile = join(daemon.dir, 'add.batch');
    const delFile = join(daemon.dir, 'del.batch');
    let adds = '';
    let dels = '';
    for (let i = 0; i < N; i++) {
      adds += `route add ${dst(i)}/32 via 169.254.0.1 dev h0 onlink proto ${PROTOCOL} metric ${METRIC} table ${TABLE}\n`;
      dels += `route del ${dst(i)}/32 proto ${PROTOCOL} metric ${METRIC} table ${TABLE}\n`;
    }
    writeFileSync(addFile, adds);
    writeFileSync(delFile, dels);
    adds = dels = '';
    const ipAddMs = ipBatch(topo.host.name, addFile);
    const ipHeld = kernelCount(topo.host.name);
    const ipDelMs = ipBatch(topo.host.name, delFile);
    if (ipHeld !== N || kernelCount(topo.host.name) !== 0) throw new Error(`ip -batch baseline: held ${ipHeld}, left ${kernelCount(topo.host.name)}`);

    // Baseline: raw batched netlink, same routes, same namespace, the kernel's own cost.
    const rawAddMs = rawBatch(topo.host.name, 'add');
    const rawHeld = kernelCount(topo.host.name);
    const rawDelMs = rawBatch(topo.host.name, 'del');
    if (rawHeld !== N || kernelCount(topo.host.name) !== 0) throw new Error(`raw netlink baseline: held ${rawHeld}, left ${kernelCount(topo.host.name)}`);

    if (MAIN_COPIES) {
      const mainFile = join(daemon.dir, 'main.batch');
      let main = '';
      for (let i = 0; i < N; i++) main += `route add ${dst(i)}/32 via 169.254.0.1 dev h0 onlink proto bgp metric 20\n`;
      writeFileSync(mainFile, main);
      main = '';
      say(`main holds a copy of each prefix (proto bgp, as zebra's): filled in ${sec(ipBatch(topo.host.name, mainFile))}`);
    }

    // The daemon: JSON lines in, kernel out.
    await daemon.start();
    const control = daemon.controlSocket;
    const feed = await daemon.connect();
    let chunks = feedText(0, N, addLine);
    let cpu0 = threadCpu(daemon.pid!);
    let t0 = performance.now();
    await send(feed, chunks);
    await waitOwned(control, N);
    const addMs = performance.now() - t0;
    const addCpu = cpuDelta(cpu0, threadCpu(daemon.pid!));
    const held = kernelCount(topo.host.name);
    if (held !== N) throw new Error(`daemon install: the kernel holds ${held}, not ${N}`);
    const rss = rssMb(daemon.pid!);

    const resync = (await askDaemon(control, { command: 'resync' }, 120_000)) as { writes: number; durationMs: number; wallMs: number };

    chunks = feedText(0, N, withdrawLine);
    cpu0 = threadCpu(daemon.pid!);
    t0 = performance.now();
    await send(feed, chunks);
    await waitOwned(control, 0);
    const delMs = performance.now() - t0;
    const delCpu = cpuDelta(cpu0, threadCpu(daemon.pid!));
    const left = kernelCount(topo.host.name);
    if (left !== 0) throw new Error(`daemon withdraw: the kernel still holds ${left}`);

    // Link flap with N_FLAP routes on the link.
    await send(feed, feedText(0, N_FLAP, addLine));
    chunks = [];
    await waitOwned(control, N_FLAP);
    topo.host.ip('link', 'set', 'h0', 'down');
    for (let i = 0; i < 500 && kernelCount(topo.host.name) !== 0; i++) await sleep(10);
    t0 = performance.now();
    topo.host.ip('link', 'set', 'h0', 'up');
    for (;;) {
      if (kernelCount(topo.host.name) === N_FLAP) break;
      if (performance.now() - t0 > 60_000) throw new Error('link flap: routes did not come back in 60 s');
      await sleep(5);
    }
    const flapMs = performance.now() - t0;
    feed.close();

    const addRatio = ipAddMs / addMs;
    const delRatio = ipDelMs / delMs;
    const mark = (ok: boolean) => (ok ? 'met' : 'MISSED');
    say('');
    say(`                         ip -batch            rfc5549d (JSON lines -> kernel)   ratio   target`);
    say(`install ${N.toLocaleString('en-US').padStart(9)}        ${sec(ipAddMs).padStart(8)} ${rate(N, ipAddMs).padStart(10)}   ${sec(addMs).padStart(8)} ${rate(N, addMs).padStart(10)}            ${addRatio.toFixed(1)}x   >= 4x ${mark(addRatio >= 4)}`);
    say(`withdraw ${N.toLocaleString('en-US').padStart(8)}        ${sec(ipDelMs).padStart(8)} ${rate(N, ipDelMs).padStart(10)}   ${sec(delMs).padStart(8)} ${rate(N, delMs).padStart(10)}            ${delRatio.toFixed(1)}x   >= 4x ${mark(delRatio >= 4)}`);
    const of = (raw: number, ms: number) => raw / ms;
    say(`raw netlink (${RAW_BATCH} per sendmsg, ACK on the last): install ${sec(rawAddMs)} ${rate(N, rawAddMs)}, withdraw ${sec(rawDelMs)} ${rate(N, rawDelMs)}   (${(ipAddMs / rawAddMs).toFixed(1)}x, ${(ipDelMs / rawDelMs).toFixed(1)}x ip -batch)`);
    say(`install  ${sec(addMs)}: ${addRatio.toFixed(1)}x ip -batch, ${of(rawAddMs, addMs).toFixed(2)} of raw   (target >= 0.85 of raw ${mark(of(rawAddMs, addMs) >= 0.85)})`);
    say(`withdraw ${sec(delMs)}: ${delRatio.toFixed(1)}x ip -batch, ${of(rawDelMs, delMs).toFixed(2)} of raw   (target >= 0.85 of raw ${mark(of(rawDelMs, delMs) >= 0.85)})`);
    say(`daemon CPU by thread, install: ${addCpu}`);
    say(`daemon CPU by thread, withdraw: ${delCpu}`);
    say(`daemon RSS with ${N.toLocaleString('en-US')} routes installed: ${rss} MB   (target <= 250 MB ${mark(rss <= 250)})`);
    say(`converged full resync (dump + diff): ${resync.writes} writes, pass ${Math.round(resync.durationMs)} ms, ${Math.round(resync.wallMs)} ms end to end   (target <= 2 s ${mark(resync.wallMs <= 2000)})`);
    say(`link down/up with ${N_FLAP.toLocaleString('en-US')} routes: all back ${Math.round(flapMs)} ms after link up   (target <= 1 s ${mark(flapMs <= 1000)})`);
  } catch (err) {
    for (const l of daemon.logs().filter((x) => (x.level ?? 0) >= 40 || x.event === 'reconcilePass').slice(-15)) console.error(JSON.stringify(l).slice(0, 400));
    throw err;
  } finally {
    await daemon.stop(PROFILE_DIR ? 'SIGTERM' : 'SIGKILL');
    daemon.cleanup();
    topo.destroy();
  }
}

runBench(main);
