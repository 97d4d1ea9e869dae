// Reaction times of the daemon, median of repeated runs in throwaway namespaces:
//   link up -> routes back, RA with a new peer MAC -> neighbour rewritten,
//   someone's deletion -> repair. Run: npm run bench:reaction (as root).
import { spawnSync } from 'node:child_process';
import { DaemonProcess, type LogLine } from '../test/helpers/daemon.js';
import { kernelTestsBlocked, missingCommand, PEER_ADDR, startRadvd, Topology, waitFor } from '../test/helpers/netns.js';
import { runBench } from './run-bench.js';

const ROUNDS = Number(process.env.ROUNDS ?? 10);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ip = (ns: string, ...args: string[]): void => {
  const r = spawnSync('ip', ['-n', ns, ...args]);
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.toString()}`);
};
const after = (logs: LogLine[], t0: number, pred: (l: LogLine) => boolean) => logs.find((l) => (l.time as number) >= t0 && pred(l));

async function main(): Promise<void> {
  const blocked = kernelTestsBlocked();
  if (blocked) throw new Error(`reaction bench needs root and ip netns: ${blocked}`);
  const topo = Topology.create({ randomLinkLocal: true });
  const daemon = new DaemonProcess(topo.host, { log: { level: 'info' }, kernel: { protocol: 200, table: 5549 } });
  try {
    const ll = topo.peerLinkLocal();
    await daemon.start();
    if (missingCommand('radvd')) throw new Error('radvd is not installed');
    startRadvd(topo, daemon.dir);
    const feed = await daemon.connect();
    feed.send(
      { op: 'add', prefix: `${PEER_ADDR}/32`, nexthops: [{ via: ll, dev: 'h0' }] },
      { op: 'add', prefix: '10.99.2.0/24', nexthops: [{ via: ll, dev: 'h0' }] },
    );
    const routes = () => topo.host.json('route', 'show', 'table', 'all', 'proto', '200').length;
    const neigh = () => topo.host.json<{ lladdr?: string }>('neigh', 'show', '169.254.0.1', 'dev', 'h0')[0]?.lladdr;
    await waitFor('installed', () => routes() === 2, 15_000);

    const linkUpToRoutes: number[] = [];
    const lowerUpToRoutes: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      ip(topo.host.name, 'link', 'set', 'h0', 'down');
      await waitFor('down', () => routes() === 0);
      const t0 = Date.now();
      ip(topo.host.name, 'link', 'set', 'h0', 'up');
      await waitFor('routes back', () => routes() === 2, 10_000, 2);
      const logs = daemon.logs();
      const up = after(logs, t0, (l) => l.event === 'linkUp');
      const pass = after(logs, t0, (l) => l.event === 'reconcilePass' && (l.writes as number) >= 3);
      if (up && pass) {
        linkUpToRoutes.push((pass.time as number) - t0);
        lowerUpToRoutes.push((pass.time as number) - (up.time as number));
      }
    }

    const deletionToRepair: Record<string, number[]> = { 'ip neigh del': [], 'ip route del': [], 'ip route flush proto 200': [] };
    const cmds: Record<string, string[]> = {
      'ip neigh del': ['neigh', 'del', '169.254.0.1', 'dev', 'h0'],
      'ip route del': ['route', 'del', `${PEER_ADDR}/32`, 'proto', '200', 'table', '5549'],
      'ip route flush proto 200': ['route', 'flush', 'table', '5549', 'proto', '200'],
    };
    for (let i = 0; i < ROUNDS; i++) {
      for (const [name, args] of Object.entries(cmds)) {
        await new Promise((r) => setTimeout(r, 2500)); // stay under the repair backoff's burst
        const t0 = Date.now();
        ip(topo.host.name, ...args);
        await waitFor('repaired', () => routes() === 2 && neigh() !== undefined, 10_000, 2);
        const rep = after(daemon.logs(), t0, (l) => l.event === 'driftRepaired');
        if (rep) deletionToRepair[name]!.push((rep.time as number) - t0);
      }
    }

    const raToNeighbour: number[] = [];
    for (let i = 0; i < Math.min(ROUNDS, 5); i++) {
      const mac = `02:00:00:00:01:${(0x90 + i).toString(16)}`;
      const t0 = Date.now();
      ip(topo.peer.name, 'link', 'set', 'p0', 'address', mac);
      await waitFor('neighbour follows', () => neigh() === mac, 15_000, 5);
      const logs = daemon.logs();
      const heard = after(logs, t0, (l) => l.event === 'peerResolved' && l.mac === mac);
      const wrote = after(logs, t0, (l) => l.event === 'neighbourWritten' && l.mac === mac);
      if (heard && wrote) raToNeighbour.push((wrote.time as number) - (heard.time as number));
    }

    const line = (name: string, xs: number[]) => `${name.padEnd(48)} median ${String(median(xs)).padStart(5)} ms  (n=${xs.length}, min ${Math.min(...xs)}, max ${Math.max(...xs)})`;
    console.log(line('admin up -> routes back (incl. kernel carrier delay)', linkUpToRoutes));
    console.log(line('carrier up event -> routes written', lowerUpToRoutes));
    for (const [name, xs] of Object.entries(deletionToRepair)) console.log(line(`${name} -> repaired`, xs));
    console.log(line('RA with the new peer MAC -> neighbour rewritten', raToNeighbour));
  } finally {
    await daemon.stop('SIGKILL');
    daemon.cleanup();
    topo.destroy();
  }
}

runBench(main);
