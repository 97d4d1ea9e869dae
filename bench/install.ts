// The JSON-lines install bench: the same /32 onlink routes as the baselines, through the
// daemon's real path (JSON-lines socket -> RIB -> reconciler -> netlink), timed until the
// kernel holds them all (the daemon's acknowledged state, then checked by a dump). Also:
// daemon RSS at full table, what a status request costs there, a converged full resync, and
// a link flap with nFlap routes, timed twice (see linkFlap). Run by bench/bench.ts (npm run
// bench); installAndWithdraw alone by bench/profile.ts (--profile jsonl).
import { join } from 'node:path';
import { askDaemon } from '../src/cli/control-client.js';
import { DaemonProcess, type FeedClient } from '../test/helpers/daemon.js';
import { PEER_LL, type Topology } from '../test/helpers/netns.js';
import { ipBatch, writeBatch } from './baselines.js';
import { SERVICE_NODE_ARGS } from './service-node-args.js';
import { dst, FIRST_DST, kernelCount, PROTOCOL, rssMb, sec, sleep, TABLE, waitOwned, waitOwnedGone, watchRoutes, type DaemonRunOptions } from './bench-kit.js';
import { spread } from './stats.js';

const CHUNK = 20_000;

export interface JsonlResult {
  addMs: number;
  delMs: number;
  rssMb: number;
  /** one status request's round trip at full table (median of STATUS_SAMPLES) */
  statusMs: number;
  resyncMs: number;
  resyncWrites: number;
  /** link up to all routes back, by the daemon's acknowledged state polled every FLAP_POLL_MS */
  flapMs: number;
  /** the same, in a second flap, by the route-event watcher */
  flapEventsMs: number;
  /** in each flap: link up to the end of the daemon's pass that wrote them (its log) */
  flapPassMs: number | undefined;
  flapEventsPassMs: number | undefined;
  /** the watcher's own CPU (user + sys) in that flap, from its start */
  flapWatcherCpuMs: number;
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

const STATUS_SAMPLES = 21;
/** the flap's status poll: short against the ~0.5 s measured, and status is O(1) */
const FLAP_POLL_MS = 5;
const now = (): number => performance.timeOrigin + performance.now();

/** Starts the JSON-lines bench's daemon: our table and protocol, room for n routes. */
function jsonlDaemon(topo: Topology, n: number, opts: DaemonRunOptions = {}): DaemonProcess {
  return new DaemonProcess(topo.host, { log: { level: 'info' }, kernel: { table: TABLE, protocol: PROTOCOL }, limits: { 'max-routes': n } }, {}, [...SERVICE_NODE_ARGS, ...(opts.nodeArgs ?? [])]);
}

/** The n routes fed in, timed until the daemon holds them all acknowledged; a dump checks. */
async function install(daemon: DaemonProcess, feed: FeedClient, ns: string, n: number): Promise<number> {
  const chunks = feedText(0, n, addLine);
  const t0 = performance.now();
  await send(feed, chunks);
  await waitOwned(daemon.controlSocket, n);
  const ms = performance.now() - t0;
  const held = kernelCount(ns);
  if (held !== n) throw new Error(`daemon install: the kernel holds ${held}, not ${n}`);
  return ms;
}

async function withdraw(daemon: DaemonProcess, feed: FeedClient, ns: string, n: number): Promise<number> {
  const chunks = feedText(0, n, withdrawLine);
  const t0 = performance.now();
  await send(feed, chunks);
  await waitOwned(daemon.controlSocket, 0);
  const ms = performance.now() - t0;
  const left = kernelCount(ns);
  if (left !== 0) throw new Error(`daemon withdraw: the kernel still holds ${left}`);
  return ms;
}

function failureLogs(daemon: DaemonProcess): void {
  for (const l of daemon.logs().filter((x) => (x.level ?? 0) >= 40 || x.event === 'reconcilePass').slice(-15)) console.error(JSON.stringify(l).slice(0, 400));
}

async function stopAndFlush(daemon: DaemonProcess, topo: Topology, signal: NodeJS.Signals): Promise<void> {
  await daemon.stop(signal);
  daemon.cleanup();
  // routes withdrawn by nobody (the flap's): the next measurement starts from an empty table
  topo.host.exec('ip', ['route', 'flush', 'table', String(TABLE)], { allowFail: true });
}

/** One install and one withdraw of n routes, nothing else: what --profile jsonl runs. */
export async function installAndWithdraw(topo: Topology, n: number, opts: DaemonRunOptions = {}): Promise<{ addMs: number; delMs: number }> {
  const daemon = jsonlDaemon(topo, n, opts);
  const ns = topo.host.name;
  try {
    await daemon.start();
    const feed = await daemon.connect();
    opts.around?.before(daemon.pid!);
    const addMs = await install(daemon, feed, ns, n);
    const delMs = await withdraw(daemon, feed, ns, n);
    opts.around?.after(daemon.pid!);
    feed.close();
    return { addMs, delMs };
  } catch (err) {
    failureLogs(daemon);
    throw err;
  } finally {
    await stopAndFlush(daemon, topo, opts.stopSignal ?? 'SIGKILL');
  }
}

/** The round trip of one status request, median of STATUS_SAMPLES, with the table as it is. */
async function statusRoundTrip(control: string): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < STATUS_SAMPLES; i++) {
    const t0 = performance.now();
    await askDaemon(control, { command: 'status' });
    ms.push(performance.now() - t0);
  }
  return spread(ms).median;
}

/**
 * Link h0 down (the kernel drops its routes; the bench waits until a dump and the daemon both
 * say so), then up, timed from just before `ip link set up` to all nFlap routes back:
 * - 'status': the daemon's acknowledged state polled every FLAP_POLL_MS, as install and
 *   withdraw are timed. ownedInKernel counts writes the kernel has ACKed, and the kernel
 *   ACKs a batch after inserting every route of it: an upper bound on when the kernel held
 *   them, late by at most one poll and the hand-back of the last ACK. The target is judged on
 *   this figure.
 *   Both flaps also give passEndMs: link up to the daemon's log line of the pass that wrote
 *   the routes (logged once its last ACK is in), a clock that costs nothing while it runs.
 * - 'events': bench/route-watch.ts, a separate process counting the kernel's route events. It
 *   competes with the daemon for the 2 CPUs and reads 100,000 datagrams, so it finishes
 *   behind the kernel: passEndMs shows how far behind.
 */
async function linkFlap(topo: Topology, daemon: DaemonProcess, nFlap: number, clock: 'status' | 'events'): Promise<{ ms: number; passEndMs: number | undefined; watcherCpuMs?: number }> {
  const ns = topo.host.name;
  topo.host.ip('link', 'set', 'h0', 'down');
  for (let i = 0; i < 500 && kernelCount(ns) !== 0; i++) await sleep(10);
  // else a status poll would still see the routes of before the flap
  await waitOwnedGone(daemon.controlSocket);
  const watch = clock === 'events' ? await watchRoutes(ns, { count: nFlap, firstDst: FIRST_DST, tables: [{ table: TABLE, protocol: PROTOCOL }], timeoutMs: 60_000 }) : undefined;
  const logLines = daemon.logs().length;
  const upAt = now();
  topo.host.ip('link', 'set', 'h0', 'up');
  let ms: number;
  let watcherCpuMs: number | undefined;
  if (watch) {
    const r = await watch.result();
    ms = r.doneAt[0]! - upAt;
    watcherCpuMs = r.cpu.userMs + r.cpu.sysMs;
  } else {
    await waitOwned(daemon.controlSocket, nFlap, 60_000, FLAP_POLL_MS);
    ms = now() - upAt;
  }
  await waitOwned(daemon.controlSocket, nFlap, 60_000); // the events' clock: let the daemon finish before the dump
  const back = kernelCount(ns);
  if (back !== nFlap) throw new Error(`link flap (${clock}): all ${nFlap} back by ${clock}, but the kernel holds ${back}`);
  // the pass that left nothing pending: its log line is written when its last ACK is in (pino's time: epoch ms)
  const pass = daemon.logs().slice(logLines).find((l) => l.event === 'reconcilePass' && l.pending === 0 && l.desired === nFlap && Number(l.writes) > 0);
  return { ms, passEndMs: typeof pass?.time === 'number' ? pass.time - upAt : undefined, ...(watcherCpuMs === undefined ? {} : { watcherCpuMs }) };
}

/** mainCopies: main also holds every prefix (proto bgp), as zebra's copies do next to it */
export async function measureJsonl(topo: Topology, n: number, nFlap: number, mainCopies = false, say: (s: string) => void = console.log): Promise<JsonlResult> {
  const daemon = jsonlDaemon(topo, n + nFlap);
  const ns = topo.host.name;
  try {
    if (mainCopies) {
      const mainFile = join(daemon.dir, 'main.batch');
      writeBatch(mainFile, n, (i) => `route add ${dst(i)}/32 via 169.254.0.1 dev h0 onlink proto bgp metric 20\n`);
      say(`main holds a copy of each prefix (proto bgp, as zebra's): filled in ${sec(ipBatch(ns, mainFile))}`);
    }
    await daemon.start();
    const control = daemon.controlSocket;
    const feed = await daemon.connect();
    const addMs = await install(daemon, feed, ns, n);
    const rss = rssMb(daemon.pid!);
    const statusMs = await statusRoundTrip(control);
    const resync = (await askDaemon(control, { command: 'resync' }, 120_000)) as { writes: number; durationMs: number; wallMs: number };
    const delMs = await withdraw(daemon, feed, ns, n);

    // Link flap with nFlap routes on the link, timed by each clock in turn (one at a time:
    // the watcher would take CPU from the daemon the status poll times).
    await send(feed, feedText(0, nFlap, addLine));
    await waitOwned(control, nFlap);
    const byStatus = await linkFlap(topo, daemon, nFlap, 'status');
    const byEvents = await linkFlap(topo, daemon, nFlap, 'events');
    feed.close();
    return { addMs, delMs, rssMb: rss, statusMs, resyncMs: resync.wallMs, resyncWrites: resync.writes, flapMs: byStatus.ms, flapEventsMs: byEvents.ms, flapPassMs: byStatus.passEndMs, flapEventsPassMs: byEvents.passEndMs, flapWatcherCpuMs: byEvents.watcherCpuMs ?? NaN };
  } catch (err) {
    failureLogs(daemon);
    throw err;
  } finally {
    await stopAndFlush(daemon, topo, 'SIGKILL');
  }
}
