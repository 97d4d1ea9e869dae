// The kernel-table source against the real kernel, without BIRD: whatever writes
// `via inet6 fe80::… dev h0` into table 100 (a script's `ip route add`) is installed in our
// form in our table, withdrawn when deleted, ECMP when multipath. Checked with ip -j.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { kernelSuiteEnabled, PEER_ADDR, PEER_LL, PEER_MAC, Topology, waitFor } from '../helpers/netns.js';

interface LegJson { gateway?: string; dev?: string; flags?: string[] }
interface RouteJson extends LegJson { dst: string; protocol?: string; nexthops?: LegJson[] }
interface NeighJson { dst: string; dev?: string; lladdr?: string; state?: string[] }

const CLI = resolve(import.meta.dirname, '../../dist/src/main.js');
const enabled = kernelSuiteEnabled('kernel-table source (netns)');
const KERNEL = { table: 1000, protocol: 200, mode: 'neighbor' };
const LL1 = 'fe80::ff:fe00:102'; // the peer's p1 (EUI-64 of 02:00:00:00:01:02)

describe.runIf(enabled)('kernel-table source', () => {
  let daemon: DaemonProcess | undefined;
  let topo: Topology | undefined;
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    daemon = undefined;
    topo?.destroy();
    topo = undefined;
  });

  const ours = (t: Topology) => t.host.json<RouteJson>('route', 'show', 'table', '1000', 'proto', '200');

  it('a static route via inet6 fe80:: in table 100 is taken, deleted is withdrawn, multipath is ECMP, and routes shows its source', async () => {
    topo = Topology.create({ secondLink: true });
    const t = topo;
    // The test namespace forwards from table 1000; nothing forwards from table 100.
    // present before the daemon starts (the first dump takes it) ...
    t.host.ip('route', 'add', '10.99.1.1/32', 'via', 'inet6', PEER_LL, 'dev', 'h0', 'table', '100');
    // ... and things it must ignore
    t.host.ip('route', 'add', '10.50.0.0/24', 'via', 'inet6', '2001:db8::1', 'dev', 'h0', 'onlink', 'table', '100');
    t.host.ip('route', 'add', 'blackhole', '10.51.0.0/24', 'table', '100');
    daemon = new DaemonProcess(t.host, { kernel: KERNEL, sources: { jsonl: { enabled: false }, kernel: { tables: [100] } }, ra: { enabled: false } });
    await daemon.start();

    const first = await waitFor('10.99.1.1/32 in table 1000', () => ours(t).find((r) => r.dst === '10.99.1.1'));
    expect(first).toMatchObject({ gateway: '169.254.0.1', dev: 'h0', flags: expect.arrayContaining(['onlink']) });
    expect(t.host.json<NeighJson>('neigh', 'show', 'dev', 'h0', '169.254.0.1')[0]).toMatchObject({ lladdr: PEER_MAC, state: ['PERMANENT'] });
    expect(t.host.ping(PEER_ADDR)).toBe(true);
    expect(ours(t).map((r) => r.dst)).toEqual(['10.99.1.1']);

    const routes = JSON.parse(daemon.cli('routes', '--json')) as { prefix: string; source: string }[];
    expect(routes).toEqual([expect.objectContaining({ prefix: '10.99.1.1/32', source: 'kernel-table#100', table: 1000 })]);
    expect(daemon.cli('routes')).toMatch(/^1000\s+10\.99\.1\.1\/32\s+installed\s+kernel-table#100/m);
    const status = JSON.parse(daemon.cli('status', '--json')) as { sources: Record<string, { taken: number; ignored: Record<string, number>; synced: boolean }> };
    expect(status.sources['kernel-table']).toMatchObject({ taken: 1, synced: true, ignored: { 'not-link-local-via': 1, 'not-unicast': 1 } });

    // an event: a multipath route over both links gives ECMP in our table
    t.host.ip('route', 'add', '10.99.2.0/24', 'table', '100', 'nexthop', 'via', 'inet6', PEER_LL, 'dev', 'h0', 'nexthop', 'via', 'inet6', LL1, 'dev', 'h1');
    const ecmp = await waitFor('ECMP 10.99.2.0/24', () => ours(t).find((r) => r.dst === '10.99.2.0/24' && r.nexthops?.length === 2));
    expect(ecmp.nexthops!.map((n) => `${n.dev}>${n.gateway}`).sort()).toEqual(['h0>169.254.0.1', 'h1>169.254.0.1']);
    expect(t.host.json<NeighJson>('neigh', 'show', 'dev', 'h1', '169.254.0.1')[0]).toMatchObject({ lladdr: '02:00:00:00:01:02' });

    // changed: replaced with one leg only
    t.host.ip('route', 'replace', '10.99.2.0/24', 'via', 'inet6', LL1, 'dev', 'h1', 'table', '100');
    await waitFor('10.99.2.0/24 via h1 only', () => ours(t).find((r) => r.dst === '10.99.2.0/24' && r.dev === 'h1' && !r.nexthops));

    // deleted there: withdrawn here; the other route stays
    t.host.ip('route', 'del', '10.99.1.1/32', 'table', '100');
    await waitFor('10.99.1.1/32 withdrawn', () => !ours(t).some((r) => r.dst === '10.99.1.1'));
    expect(ours(t).map((r) => r.dst)).toEqual(['10.99.2.0/24']);
    expect(t.host.ping(PEER_ADDR, 1)).toBe(false);
    // the source table itself is never written
    expect(t.host.json<RouteJson>('route', 'show', 'table', '100', 'proto', '200')).toEqual([]);
  });

  it('a route deleted from table 100 while the daemon was down is swept after its first dump; the rest is adopted', async () => {
    topo = Topology.create();
    const t = topo;
    t.host.ip('route', 'add', '10.99.1.1/32', 'via', 'inet6', PEER_LL, 'dev', 'h0', 'table', '100');
    t.host.ip('route', 'add', '10.99.5.0/24', 'via', 'inet6', PEER_LL, 'dev', 'h0', 'table', '100');
    const config = { kernel: KERNEL, sources: { jsonl: { enabled: false }, kernel: { tables: [100] } }, ra: { enabled: false }, graceful: { 'stale-time': 60 } };
    daemon = new DaemonProcess(t.host, config);
    await daemon.start();
    await waitFor('both in table 1000', () => ours(t).length === 2);
    await daemon.stop(); // SIGTERM leaves our routes in place
    daemon.cleanup();
    expect(ours(t)).toHaveLength(2);
    t.host.ip('route', 'del', '10.99.5.0/24', 'table', '100');
    daemon = new DaemonProcess(t.host, config);
    await daemon.start();
    // stale-time is 60 s: only the source's sync after its first dump lets the sweep run this soon
    await waitFor('10.99.5.0/24 swept', () => ours(t).map((r) => r.dst).join(' ') === '10.99.1.1', 10_000);
    expect(daemon.logs().some((l) => l.event === 'sweepAllowed' && String(l.why).includes('kernel-table'))).toBe(true);
  });

  it('refuses to start when a source table is kernel.table, naming both keys', () => {
    topo = Topology.create();
    daemon = new DaemonProcess(topo.host, { kernel: { ...KERNEL, table: 100 }, sources: { kernel: { tables: [100] } } });
    daemon.writeConfig();
    const r = spawnSync('ip', ['netns', 'exec', topo.host.name, process.execPath, CLI, 'run', '--config', daemon.configFile], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/sources\.kernel\.tables\.0: is kernel\.table \(100\), the table the daemon writes/);
    expect(topo.host.json<RouteJson>('route', 'show', 'table', 'all', 'proto', '200')).toEqual([]);
  });
});
