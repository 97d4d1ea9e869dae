// npm run build && npm run soak [-- --minutes 10] [--seed N] [--pause-ms 2000-4000]
// A chaos soak in throwaway namespaces (test/helpers/netns.ts): rfc5549d holds 2,000 routes
// over two links (single-leg and ECMP) fed over JSON lines, next to 500 decoy routes of
// another protocol (proto static, some on our prefixes in other tables or at other metrics).
// Random perturbations (admin and carrier flaps, ip neigh del / replace with a wrong MAC,
// ip route flush / del of our routes, SIGKILL and restart with a replay, SIGHUP); after each
// it waits until every desired route, its placeholder MAC and every decoy are right again.
// Prints per kind: count, converged, p50 and max time to converge; and the totals of routes
// lost and decoys touched, which must be 0 (exit 1 otherwise). Not part of npm test.
import { DaemonProcess, type FeedClient } from '../test/helpers/daemon.js';
import { kernelTestsBlocked, PEER_MAC, sh, sleep, Topology } from '../test/helpers/netns.js';
import { Rng } from './fuzz/rng.js';

const PROTOCOL = 200; // set explicitly: the defaults are changing (186 -> 200)
const TABLE = 5549; //   and 254 -> 5549
const METRIC = 20;
const ROUTES = 2000;
const DECOYS = 500;
const CONVERGE_TIMEOUT_MS = 90_000; // above the repair backoff's 60 s ceiling

interface Link {
  readonly host: string;
  readonly peer: string;
  readonly mac: string;
  readonly linkLocal: string;
}
const LINKS: readonly Link[] = [
  { host: 'h0', peer: 'p0', mac: PEER_MAC, linkLocal: 'fe80::ff:fe00:101' },
  { host: 'h1', peer: 'p1', mac: '02:00:00:00:01:02', linkLocal: 'fe80::ff:fe00:102' },
];

interface DesiredRoute {
  readonly prefix: string;
  readonly devs: readonly string[];
}
interface Decoy {
  readonly prefix: string;
  readonly table: number;
  readonly metric: number;
  readonly type: 'blackhole' | 'unreachable';
}

function args(): { minutes: number; seed: number; pauseMs: [number, number] } {
  const a = process.argv.slice(2);
  const get = (k: string): string | undefined => {
    const i = a.indexOf(`--${k}`);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const pause = (get('pause-ms') ?? '2000-4000').split('-').map(Number);
  return {
    minutes: Number(get('minutes') ?? 10),
    seed: Number(get('seed') ?? Math.floor(Math.random() * 0x7fffffff)) >>> 0,
    pauseMs: [pause[0] ?? 2000, pause[1] ?? pause[0] ?? 4000],
  };
}

const prefixOf = (i: number): string => `10.${128 + (i >> 8)}.${i & 255}.0/24`;

function layout(rng: Rng): { routes: DesiredRoute[]; decoys: Decoy[] } {
  const routes: DesiredRoute[] = [];
  for (let i = 0; i < ROUTES; i++) {
    const r = rng.int(3);
    routes.push({ prefix: prefixOf(i), devs: r === 0 ? ['h0'] : r === 1 ? ['h1'] : ['h0', 'h1'] });
  }
  const decoys: Decoy[] = [];
  const taken = new Set<string>();
  const type = (): Decoy['type'] => (rng.chance(0.8) ? 'blackhole' : 'unreachable');
  const add = (d: Decoy): boolean => {
    const key = `${d.table}|${d.prefix}|${d.metric}`;
    if (taken.has(key)) return false;
    taken.add(key);
    decoys.push(d);
    return true;
  };
  for (let i = 0; decoys.length < DECOYS; i++) {
    const k = i % 4;
    // our prefixes at another metric in our table, our prefixes in main and in another table,
    // and prefixes of their own in our table
    if (k === 0) add({ prefix: prefixOf(rng.int(ROUTES)), table: TABLE, metric: 100 + rng.int(100), type: type() });
    else if (k === 1) add({ prefix: prefixOf(rng.int(ROUTES)), table: 254, metric: METRIC, type: type() });
    else if (k === 2) add({ prefix: prefixOf(rng.int(ROUTES)), table: 100, metric: METRIC, type: type() });
    else add({ prefix: `10.200.${i >> 8}.${i & 255}/32`, table: TABLE, metric: METRIC, type: type() });
  }
  return { routes, decoys };
}

interface RouteJson {
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  table?: string;
  type?: string;
  protocol?: string;
  flags?: string[];
  nexthops?: { gateway?: string; dev?: string; flags?: string[] }[];
}
interface NeighJson {
  dst: string;
  dev: string;
  lladdr?: string;
  state?: string[];
}

interface Check {
  /** desired routes absent or wrong in the kernel */
  readonly wrongRoutes: number;
  /** routes of ours the kernel has and nobody wants */
  readonly extraRoutes: number;
  /** links whose placeholder is missing or has the wrong MAC */
  readonly wrongPlaceholders: number;
  readonly decoysTouched: number;
  readonly sample: string;
}

class Soak {
  readonly topo = Topology.create({ secondLink: true });
  readonly daemon: DaemonProcess;
  feed: FeedClient | undefined;
  private cleaned = false;

  constructor(readonly routes: readonly DesiredRoute[], readonly decoys: readonly Decoy[]) {
    this.daemon = new DaemonProcess(this.topo.host, {
      log: { level: 'info' },
      kernel: { protocol: PROTOCOL, table: TABLE, metric: METRIC, mode: 'neighbor' },
      graceful: { 'stale-time': 10 },
    });
  }

  cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    try {
      this.feed?.close();
    } catch {
      /* gone */
    }
    this.daemon.cleanup();
    this.topo.destroy();
  }

  ip(ns: 'host' | 'peer', ...args: string[]): void {
    sh('ip', ['-n', this.topo[ns].name, ...args]);
  }

  batch(lines: string[]): void {
    if (lines.length > 0) sh('ip', ['-n', this.topo.host.name, '-batch', '-'], { input: `${lines.join('\n')}\n` });
  }

  installDecoys(): void {
    this.batch(this.decoys.map((d) => `route add ${d.type} ${d.prefix} table ${d.table} metric ${d.metric} proto static`));
  }

  async replay(): Promise<void> {
    this.feed = await this.daemon.connect();
    const lines = ['{"op":"sync-begin"}'];
    for (const r of this.routes) lines.push(JSON.stringify({ op: 'add', prefix: r.prefix, nexthops: r.devs.map((dev) => ({ via: LINKS.find((l) => l.host === dev)!.linkLocal, dev })) }));
    lines.push('{"op":"sync-end"}');
    await this.feed.write(`${lines.join('\n')}\n`);
  }

  check(): Check {
    const host = this.topo.host;
    const neigh = host.json<NeighJson>('neigh', 'show', 'nud', 'permanent');
    // the placeholder of each link: the permanent entry with the peer's MAC (169.254.0.1 unless it moved)
    const gateway = new Map<string, string>();
    let wrongPlaceholders = 0;
    for (const l of LINKS) {
      const n = neigh.find((e) => e.dev === l.host && e.lladdr === l.mac && e.dst.startsWith('169.254.'));
      if (n) gateway.set(l.host, n.dst);
      else wrongPlaceholders++;
    }
    const ours = host.json<RouteJson>('route', 'show', 'table', String(TABLE), 'proto', String(PROTOCOL));
    const byDst = new Map(ours.map((r) => [r.dst, r]));
    let wrongRoutes = 0;
    let sample = '';
    for (const d of this.routes) {
      const r = byDst.get(d.prefix);
      byDst.delete(d.prefix);
      const legs = r ? (r.nexthops ?? [{ gateway: r.gateway, dev: r.dev, flags: r.flags }]) : [];
      const ok = r !== undefined && (r.metric ?? 0) === METRIC && legs.length === d.devs.length &&
        d.devs.every((dev) => legs.some((x) => x.dev === dev && x.gateway !== undefined && x.gateway === gateway.get(dev) && !(x.flags ?? []).includes('linkdown') && !(x.flags ?? []).includes('dead')));
      if (!ok) {
        wrongRoutes++;
        if (!sample) sample = `${d.prefix} via ${d.devs.join('+')}: kernel has ${r ? JSON.stringify(legs) : 'nothing'}`;
      }
    }
    const elsewhere = host.json<RouteJson>('route', 'show', 'table', 'all', 'proto', String(PROTOCOL)).filter((r) => r.table !== undefined && r.table !== String(TABLE) && r.type !== 'local' && r.type !== 'broadcast');
    const extraRoutes = byDst.size + elsewhere.length;
    const statics = host.json<RouteJson>('route', 'show', 'table', 'all', 'proto', 'static');
    const have = new Set(statics.map((r) => `${r.table ?? 'main'}|${r.dst.includes('/') ? r.dst : `${r.dst}/32`}|${r.metric ?? 0}|${r.type ?? 'unicast'}`));
    const tableName = (t: number): string => (t === 254 ? 'main' : String(t));
    let decoysTouched = this.decoys.filter((d) => !have.has(`${tableName(d.table)}|${d.prefix}|${d.metric}|${d.type}`)).length;
    if (statics.length !== this.decoys.length) decoysTouched = Math.max(decoysTouched, Math.abs(statics.length - this.decoys.length));
    return { wrongRoutes, extraRoutes, wrongPlaceholders, decoysTouched, sample };
  }

  /** Polls until everything is right; the time from `since`, or undefined on timeout. */
  async converge(since: number): Promise<{ ms: number | undefined; last: Check }> {
    let last = this.check();
    while (last.wrongRoutes + last.extraRoutes + last.wrongPlaceholders > 0) {
      if (Date.now() - since > CONVERGE_TIMEOUT_MS) return { ms: undefined, last };
      if (this.daemon.pid === undefined || !this.alive()) throw new Error('the daemon is not running');
      await sleep(50);
      last = this.check();
    }
    return { ms: Date.now() - since, last };
  }

  alive(): boolean {
    const pid = this.daemon.pid;
    if (pid === undefined) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

type Kind = 'admin-flap' | 'carrier-flap' | 'neigh-del' | 'neigh-wrong-mac' | 'route-flush' | 'route-del' | 'sigkill-restart' | 'sighup';
const KINDS: readonly Kind[] = ['admin-flap', 'carrier-flap', 'neigh-del', 'neigh-wrong-mac', 'route-flush', 'route-del', 'sigkill-restart', 'sighup'];

/** Does one perturbation; returns when the world is back to normal (the clock starts then). */
async function perturb(s: Soak, kind: Kind, rng: Rng): Promise<{ t0: number; what: string }> {
  const link = rng.pick(LINKS);
  switch (kind) {
    case 'admin-flap':
      s.ip('host', 'link', 'set', link.host, 'down');
      await sleep(rng.range(0, 500));
      s.ip('host', 'link', 'set', link.host, 'up');
      return { t0: Date.now(), what: `${link.host} down/up` };
    case 'carrier-flap': {
      s.ip('peer', 'link', 'set', link.peer, 'down');
      await sleep(rng.range(100, 1500));
      s.ip('peer', 'link', 'set', link.peer, 'up');
      s.topo.restorePeerReturnPath();
      return { t0: Date.now(), what: `${link.peer} down/up (carrier of ${link.host})` };
    }
    case 'neigh-del':
      s.ip('host', 'neigh', 'del', '169.254.0.1', 'dev', link.host);
      return { t0: Date.now(), what: `ip neigh del 169.254.0.1 dev ${link.host}` };
    case 'neigh-wrong-mac':
      s.ip('host', 'neigh', 'replace', '169.254.0.1', 'lladdr', '02:de:ad:be:ef:01', 'nud', 'permanent', 'dev', link.host);
      return { t0: Date.now(), what: `ip neigh replace 169.254.0.1 lladdr 02:de:ad:be:ef:01 dev ${link.host}` };
    case 'route-flush':
      s.ip('host', 'route', 'flush', 'table', 'all', 'proto', String(PROTOCOL));
      return { t0: Date.now(), what: `ip route flush table all proto ${PROTOCOL}` };
    case 'route-del': {
      const n = rng.range(1, 50);
      const picked = new Set<string>();
      for (let i = 0; i < n; i++) picked.add(s.routes[rng.int(s.routes.length)]!.prefix);
      s.batch([...picked].map((p) => `route del ${p} table ${TABLE} proto ${PROTOCOL} metric ${METRIC}`));
      return { t0: Date.now(), what: `ip route del of ${picked.size} owned routes` };
    }
    case 'sigkill-restart': {
      const t0 = Date.now();
      s.daemon.signal('SIGKILL');
      await s.daemon.exitCode(10_000);
      s.feed?.close();
      await s.daemon.start();
      await s.replay();
      return { t0, what: 'SIGKILL, restart, replay (sync-begin … sync-end)' };
    }
    case 'sighup':
      s.daemon.signal('SIGHUP');
      return { t0: Date.now(), what: 'SIGHUP (same file)' };
  }
}

const pct = (xs: number[], p: number): number | undefined => (xs.length === 0 ? undefined : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]);

async function main(): Promise<number> {
  const opts = args();
  const blocked = kernelTestsBlocked();
  if (blocked) throw new Error(`the soak needs root and ip netns: ${blocked}`);
  const rng = new Rng(opts.seed, 0x50a4, 0);
  const { routes, decoys } = layout(rng);
  process.stdout.write(`rfc5549d soak: seed ${opts.seed} (rerun with --seed ${opts.seed}), ${opts.minutes} min, ${routes.length} routes (${routes.filter((r) => r.devs.length > 1).length} ECMP) over h0/h1, ${decoys.length} decoys (proto static), kernel.protocol ${PROTOCOL}, kernel.table ${TABLE}\n`);
  const soak = new Soak(routes, decoys);
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stdout.write(`\n${sig}: cleaning up\n`);
    soak.cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', () => soak.cleanup());

  const stats = new Map<Kind, { count: number; converged: number; ms: number[] }>(KINDS.map((k) => [k, { count: 0, converged: 0, ms: [] }]));
  let routesLost = 0;
  let decoysTouched = 0;
  let failures = 0;
  try {
    soak.installDecoys();
    await soak.daemon.start();
    const t0 = Date.now();
    await soak.replay();
    const first = await soak.converge(t0);
    if (first.ms === undefined) throw new Error(`initial install did not converge: ${first.last.wrongRoutes} wrong, e.g. ${first.last.sample}`);
    process.stdout.write(`initial install: ${routes.length} routes in ${first.ms} ms; decoys touched ${first.last.decoysTouched}\n`);
    decoysTouched = first.last.decoysTouched;
    const end = Date.now() + opts.minutes * 60_000;
    let n = 0;
    while (Date.now() < end) {
      await sleep(rng.range(opts.pauseMs[0], opts.pauseMs[1])); // stays under the repair backoff's burst (5 in 10 s)
      const kind = rng.pick(KINDS);
      const st = stats.get(kind)!;
      st.count++;
      n++;
      const { t0: since, what } = await perturb(soak, kind, rng);
      const r = await soak.converge(since);
      decoysTouched = Math.max(decoysTouched, r.last.decoysTouched);
      if (r.ms !== undefined) {
        st.converged++;
        st.ms.push(r.ms);
      } else {
        failures++;
        routesLost += r.last.wrongRoutes;
        process.stdout.write(`#${n} ${kind} (${what}): NOT converged after ${CONVERGE_TIMEOUT_MS} ms: ${r.last.wrongRoutes} routes wrong, ${r.last.extraRoutes} extra, ${r.last.wrongPlaceholders} placeholders wrong; e.g. ${r.last.sample}\n`);
      }
      if (r.last.decoysTouched > 0) process.stdout.write(`#${n} ${kind}: ${r.last.decoysTouched} decoys touched\n`);
      if (n % 20 === 0) process.stdout.write(`  ${n} perturbations, ${Math.round((end - Date.now()) / 1000)} s left\n`);
    }
    const last = soak.check();
    routesLost = Math.max(routesLost, last.wrongRoutes);
    decoysTouched = Math.max(decoysTouched, last.decoysTouched);
  } catch (err) {
    failures++;
    process.stdout.write(`soak aborted: ${(err as Error).stack ?? String(err)}\n`);
    const tail = soak.daemon.logs().slice(-5).map((l) => JSON.stringify(l)).join('\n');
    if (tail) process.stdout.write(`last daemon log lines:\n${tail}\n`);
  }

  process.stdout.write(`\n${'perturbation'.padEnd(18)}${'count'.padStart(7)}${'converged'.padStart(11)}${'p50 ms'.padStart(9)}${'max ms'.padStart(9)}\n`);
  for (const [kind, st] of stats) {
    process.stdout.write(`${kind.padEnd(18)}${String(st.count).padStart(7)}${String(st.converged).padStart(11)}${String(pct(st.ms, 0.5) ?? '-').padStart(9)}${String(st.ms.length ? Math.max(...st.ms) : '-').padStart(9)}\n`);
  }
  process.stdout.write(`routes lost: ${routesLost}, decoys touched: ${decoysTouched}${failures ? `, ${failures} perturbations not converged or aborted` : ''}\n`);
  soak.cleanup();
  return routesLost === 0 && decoysTouched === 0 && failures === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
