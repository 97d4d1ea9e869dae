// `rfc5549d run --dry-run` in a namespace with leftovers of ours: nothing is written (ip monitor
// hears no route, neighbour, rule or nexthop change; ip -j shows the same before and after),
// while `rfc5549d plan` lists exactly the install, change and remove the daemon would make.
// Then the same configuration without --dry-run makes them. The configuration is
// docs/dry-run/rfc5549d-dry-run.yaml, as docs/operations.md shows it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess, type FeedClient } from '../helpers/daemon.js';
import { isOurProtocol, kernelSuiteEnabled, monitorAll, PEER_ADDR, PEER_LL, PEER_MAC, Topology, waitFor, type Netns } from '../helpers/netns.js';

const enabled = kernelSuiteEnabled('dry run (netns)');
const GHOST = 'fe80::1234:5678:9abc:def0'; // not EUI-64, never answers
const DOC_CONFIG = resolve(import.meta.dirname, '../../docs/dry-run/rfc5549d-dry-run.yaml');

/** the documented configuration, its socket paths left to the test's temporary directory */
function docConfig(): Record<string, unknown> {
  const doc = parse(readFileSync(DOC_CONFIG, 'utf8')) as { control?: unknown; sources: { jsonl: { socket?: string } } };
  delete doc.control;
  delete doc.sources.jsonl.socket;
  return doc;
}

interface PlanItem { action: string; object: string; key: string; table?: number; prefix?: string; kernel: string | null; want: string | null; reason: string }
interface Plan { dryRun: boolean; sweepAllowed: boolean; items: PlanItem[]; pending: { prefix: string; reason: string }[]; counts: Record<string, number> }
interface JsonRoute { dst: string; type?: string; gateway?: string; dev?: string; protocol?: string; flags?: string[] }

/** what a user compares: IPv4 routes of every table, neighbours, rules, nexthop objects */
function kernelState(ns: Netns): string {
  return JSON.stringify([ns.json('route', 'show', 'table', 'all'), ns.json('neigh'), ns.json('rule'), ns.json('nexthop')]);
}

function feed(c: FeedClient): void {
  c.send(
    { op: 'sync-begin' },
    { op: 'add', prefix: `${PEER_ADDR}/32`, nexthops: [{ via: PEER_LL, dev: 'h0' }] },
    { op: 'add', prefix: '10.99.2.0/24', nexthops: [{ via: PEER_LL, dev: 'h0' }] },
    { op: 'add', prefix: '10.99.7.0/24', nexthops: [{ via: GHOST, dev: 'h0' }] },
    { op: 'sync-end' },
  );
}

describe.runIf(enabled)('rfc5549d run --dry-run and plan', () => {
  let topo: Topology;
  const daemons: DaemonProcess[] = [];
  let plan: Plan | undefined;
  beforeAll(() => {
    topo = Topology.create();
    const h = topo.host;
    // a leftover of ours no source wants, ours with a wrong next hop, and main's more specific route inside one of ours
    h.ip('route', 'add', '10.99.8.0/24', 'via', '169.254.0.1', 'dev', 'h0', 'onlink', 'proto', '200', 'table', '5549', 'metric', '20');
    h.ip('route', 'add', `${PEER_ADDR}/32`, 'via', '169.254.0.9', 'dev', 'h0', 'onlink', 'proto', '200', 'table', '5549', 'metric', '20');
    h.ip('route', 'add', '10.99.2.128/25', 'dev', 'h0', 'proto', 'static');
  });
  afterAll(async () => {
    for (const d of daemons) {
      await d.stop('SIGKILL');
      d.cleanup();
    }
    topo?.destroy();
  });

  it('writes nothing to the kernel, while plan lists the install, change and remove it would make, with reasons', async () => {
    const monitor = await monitorAll(topo.host);
    try {
      const before = kernelState(topo.host);
      const dry = new DaemonProcess(topo.host, docConfig());
      daemons.push(dry);
      await dry.start(['--dry-run']);
      const c = await dry.connect();
      feed(c);
      plan = await waitFor('plan after the sweep', () => {
        const p = JSON.parse(dry.cli('plan', '--json')) as Plan;
        return p.sweepAllowed && p.items.length === 6 && p.pending.length === 1 ? p : undefined;
      }, 20_000, 200);
      expect(plan.items.map((i) => `${i.action} ${i.object} ${i.key}`)).toEqual([
        'install rule pref 5549 lookup 5549',
        'install neighbour 169.254.0.1 dev h0',
        `change route ${PEER_ADDR}/32 table 5549 metric 20`,
        'install route 10.99.2.0/24 table 5549 metric 20',
        'remove route 10.99.8.0/24 table 5549 metric 20',
        'install throw 10.99.2.128/25 table 5549 metric 20',
      ]);
      const [, neigh, change, install, remove] = plan.items;
      expect(neigh).toMatchObject({ want: `169.254.0.1 dev h0 lladdr ${PEER_MAC} permanent`, reason: expect.stringContaining(`placeholder for ${PEER_LL}%h0`) });
      expect(change).toMatchObject({ kernel: `${PEER_ADDR}/32 table 5549 metric 20 via 169.254.0.9 dev h0 onlink`, want: `${PEER_ADDR}/32 table 5549 metric 20 via 169.254.0.1 dev h0 onlink` });
      expect(change!.reason).toMatch(/^kernel has via 169\.254\.0\.9 dev h0 onlink; want via 169\.254\.0\.1 dev h0 onlink; desired by jsonl#\d+$/);
      expect(install!.reason).toMatch(/^desired by jsonl#\d+$/);
      expect(remove!.reason).toBe('ours by protocol 200, no source wants it');
      expect(plan.pending).toEqual([expect.objectContaining({ prefix: '10.99.7.0/24', reason: expect.stringContaining('not EUI-64') })]);
      expect(plan.counts).toEqual({ install: 4, change: 1, remove: 1, pending: 1 });
      const human = dry.cli('plan');
      expect(human).toContain('plan: 4 to install, 1 to change, 1 to remove; 1 routes pending');
      expect(human).toMatch(/^install route 10\.99\.2\.0\/24 table 5549 metric 20 via 169\.254\.0\.1 dev h0 onlink {2}\(desired by jsonl#\d+\)$/m);
      expect(human).toMatch(/^pending route 10\.99\.7\.0\/24 table 5549 /m);

      // routes, peers and status answer as usual, about the dry run's copy of the kernel
      const s = JSON.parse(dry.cli('status', '--json')) as { dryRun?: boolean; routes: Record<string, number> };
      expect(s).toMatchObject({ dryRun: true, routes: { desired: 3, installed: 2, pending: 1 } });
      expect(dry.cli('status')).toContain('DRY RUN: nothing is written to the kernel');
      expect(JSON.parse(dry.cli('routes', '--pending', '--json'))).toEqual([expect.objectContaining({ prefix: '10.99.7.0/24', state: 'pending' })]);
      expect(JSON.parse(dry.cli('peers', '--json'))).toContainEqual(expect.objectContaining({ linkLocal: PEER_LL, mac: PEER_MAC, placeholder: '169.254.0.1', state: 'resolved' }));
      expect(dry.logs().some((l) => l.event === 'dryRunSeeded')).toBe(true);
      c.close();
      expect(await dry.stop()).toBe(0);

      expect(monitor.lines('ROUTE', 'NEIGH', 'RULE', 'NEXTHOP')).toEqual([]);
      expect(kernelState(topo.host)).toBe(before);
    } finally {
      monitor.stop();
    }
  });

  it('the same configuration without --dry-run makes what plan said; plan then refuses, naming run --dry-run', async () => {
    if (!plan) throw new Error('the dry run left no plan');
    const monitor = await monitorAll(topo.host);
    const live = new DaemonProcess(topo.host, docConfig());
    daemons.push(live);
    try {
      await live.start();
      feed(await live.connect());
      const table = (): JsonRoute[] => topo.host.json<JsonRoute>('route', 'show', 'table', '5549');
      const key = (r: JsonRoute): string => (r.dst.includes('/') ? r.dst : `${r.dst}/32`);
      const removed = plan.items.filter((i) => i.action === 'remove' && i.object === 'route').map((i) => i.prefix);
      await waitFor('what plan said, installed', () => {
        const routes = table();
        return plan!.items.every((i) => {
          if (i.object === 'route' && i.action !== 'remove') return routes.some((r) => key(r) === i.prefix && isOurProtocol(r.protocol) && r.gateway === '169.254.0.1' && r.dev === 'h0' && r.flags?.includes('onlink'));
          if (i.object === 'throw') return routes.some((r) => key(r) === i.prefix && r.type === 'throw');
          return true;
        }) && !routes.some((r) => removed.includes(key(r)));
      }, 20_000, 200);
      expect(topo.host.json<{ dst: string; lladdr?: string; state?: string[] }>('neigh', 'show', 'dev', 'h0', '169.254.0.1'))
        .toEqual([expect.objectContaining({ dst: '169.254.0.1', lladdr: PEER_MAC, state: ['PERMANENT'] })]);
      expect(topo.host.json<{ priority: number; table: string }>('rule')).toContainEqual(expect.objectContaining({ priority: 5549, table: '5549' }));
      expect(topo.host.ping(PEER_ADDR)).toBe(true);
      // the monitor hears writes: the dry run's silence was no deaf monitor
      expect(monitor.lines('ROUTE').some((l) => l.includes('10.99.2.0/24'))).toBe(true);

      const refused = live.tryCli('plan');
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('plan answers only a daemon started with rfc5549d run --dry-run');
    } finally {
      monitor.stop();
    }
  });
});
