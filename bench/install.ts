// The JSON-lines install bench: the same /32 onlink routes as the baselines, through the
// daemon's real path (JSON-lines socket -> RIB -> reconciler -> netlink), timed until the
// kernel holds them all (the daemon's acknowledged state, then checked by a dump). Also:
// daemon RSS at full table, a converged full resync, and a link flap with nFlap routes.
// Run by bench/bench.ts (npm run bench).
import { join } from 'node:path';
import { askDaemon } from '../src/cli/control-client.js';
import { DaemonProcess, type FeedClient } from '../test/helpers/daemon.js';
import { PEER_LL, type Topology } from '../test/helpers/netns.js';
import { ipBatch, writeBatch } from './baselines.js';
import { SERVICE_NODE_ARGS } from './service-node-args.js';
import { dst, kernelCount, PROTOCOL, rssMb, sec, sleep, TABLE, waitOwned, watchRoutes } from './bench-kit.js';

const CHUNK = 20_000;

export interface JsonlResult {
  addMs: number;
  delMs: number;
  rssMb: number;
  resyncMs: number;
  resyncWrites: number;
  flapMs: number;
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

/** mainCopies: main also holds every prefix (proto bgp), as zebra's copies do next to it */
export async function measureJsonl(topo: Topology, n: number, nFlap: number, mainCopies = false, say: (s: string) => void = console.log): Promise<JsonlResult> {
  const daemon = new DaemonProcess(topo.host, { log: { level: 'info' }, kernel: { table: TABLE, protocol: PROTOCOL }, limits: { 'max-routes': n + nFlap } }, {}, SERVICE_NODE_ARGS);
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
    let chunks = feedText(0, n, addLine);
    let t0 = performance.now();
    await send(feed, chunks);
    await waitOwned(control, n);
    const addMs = performance.now() - t0;
    const held = kernelCount(ns);
    if (held !== n) throw new Error(`daemon install: the kernel holds ${held}, not ${n}`);
    const rss = rssMb(daemon.pid!);

    const resync = (await askDaemon(control, { command: 'resync' }, 120_000)) as { writes: number; durationMs: number; wallMs: number };

    chunks = feedText(0, n, withdrawLine);
    t0 = performance.now();
    await send(feed, chunks);
    await waitOwned(control, 0);
    const delMs = performance.now() - t0;
    const left = kernelCount(ns);
    if (left !== 0) throw new Error(`daemon withdraw: the kernel still holds ${left}`);

    // Link flap with nFlap routes on the link.
    await send(feed, feedText(0, nFlap, addLine));
    chunks = [];
    await waitOwned(control, nFlap);
    topo.host.ip('link', 'set', 'h0', 'down');
    for (let i = 0; i < 500 && kernelCount(ns) !== 0; i++) await sleep(10);
    // "All back" is told by route events, not by polling dumps: one `ip route show` of 100k
    // routes takes 0.1-0.6 s here, so polls measured mostly themselves (a poll begun just
    // before the last write, then a whole one more) and took the CPU from the daemon.
    const watch = await watchRoutes(ns, { count: nFlap, tables: [{ table: TABLE, protocol: PROTOCOL }], timeoutMs: 60_000 });
    const upAt = performance.timeOrigin + performance.now();
    topo.host.ip('link', 'set', 'h0', 'up');
    const flapMs = (await watch.doneAt())[0]! - upAt;
    const back = kernelCount(ns);
    if (back !== nFlap) throw new Error(`link flap: route events counted ${nFlap} back, but the kernel holds ${back}`);
    feed.close();
    return { addMs, delMs, rssMb: rss, resyncMs: resync.wallMs, resyncWrites: resync.writes, flapMs };
  } catch (err) {
    for (const l of daemon.logs().filter((x) => (x.level ?? 0) >= 40 || x.event === 'reconcilePass').slice(-15)) console.error(JSON.stringify(l).slice(0, 400));
    throw err;
  } finally {
    await daemon.stop('SIGKILL');
    daemon.cleanup();
    // the flap's routes, withdrawn by nobody: the next measurement starts from an empty table
    topo.host.exec('ip', ['route', 'flush', 'table', String(TABLE)], { allowFail: true });
  }
}
