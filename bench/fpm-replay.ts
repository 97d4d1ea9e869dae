// The FPM replay bench: zebra-encoded frames (bench/zebra-frames.ts) replayed over one TCP
// connection into the daemon's FPM source, on the loopback of the bench namespace, the bench
// dialling in as zebra does; the adds, then the deletes, each timed until the daemon's
// acknowledged state holds them (then checked by a kernel dump). The client runs inside the
// namespace (bench/fpm-replay-client.ts); this side starts the daemon for it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DaemonProcess } from '../test/helpers/daemon.js';
import { PEER_LL, waitFor, type Topology } from '../test/helpers/netns.js';
import { PROTOCOL, TABLE, type DaemonRunOptions } from './bench-kit.js';
import type { ReplayRequest, ReplayResult } from './fpm-replay-client.js';
import type { FpmEncoding } from './zebra-frames.js';
import { SERVICE_NODE_ARGS } from './service-node-args.js';

const CLIENT = fileURLToPath(new URL('./fpm-replay-client.js', import.meta.url));
const FPM_PORT = 2620;

/** The daemon's FPM source as the bench runs it: withdrawals applied at once (no withdraw-hold). */
function fpmDaemon(topo: Topology, n: number, nodeArgs: readonly string[] = []): DaemonProcess {
  return new DaemonProcess(topo.host, {
    log: { level: 'info' },
    kernel: { table: TABLE, protocol: PROTOCOL },
    limits: { 'max-routes': n },
    // the hold would time sources.fpm.withdraw-hold, not the daemon (it counts from the last delete)
    sources: { fpm: { enabled: true, listen: `127.0.0.1:${FPM_PORT}`, 'withdraw-hold': 0 } },
  }, {}, [...SERVICE_NODE_ARGS, ...nodeArgs]);
}

export async function measureFpmReplay(topo: Topology, n: number, encoding: FpmEncoding, opts: DaemonRunOptions = {}): Promise<ReplayResult> {
  const daemon = fpmDaemon(topo, n, opts.nodeArgs);
  try {
    await daemon.start();
    // classic frames name no peer (169.254.0.1 onlink): the daemon takes the one it knows on
    // h0, learnt here from the kernel's IPv6 neighbour entry, as it would from an RA
    // (a fresh namespace's link-locals take a moment to appear: retried)
    await waitFor('the peer answering on h0', () => topo.host.exec('ping', ['-6', '-c', '1', '-W', '1', `${PEER_LL}%h0`], { allowFail: true }).includes(' 1 received'), 15_000, 200);
    const req: ReplayRequest = { encoding, count: n, port: FPM_PORT, control: daemon.controlSocket, daemonPid: daemon.pid!, table: TABLE, dev: 'h0', peerLinkLocal: PEER_LL };
    opts.around?.before(daemon.pid!);
    const r = spawnSync('ip', ['netns', 'exec', topo.host.name, process.execPath, CLIENT, JSON.stringify(req)], { encoding: 'utf8', timeout: 900_000, maxBuffer: 1 << 20 });
    opts.around?.after(daemon.pid!);
    if (r.status !== 0) {
      const logs = daemon.logs().filter((x) => (x.level ?? 0) >= 40).slice(-10).map((l) => JSON.stringify(l).slice(0, 300));
      throw new Error(`FPM replay ${encoding}: exit ${r.status ?? r.signal}: ${r.stderr.slice(-600)}\n${logs.join('\n')}`);
    }
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as ReplayResult;
  } finally {
    await daemon.stop(opts.stopSignal ?? 'SIGKILL');
    daemon.cleanup();
  }
}
