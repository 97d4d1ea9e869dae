// Issue 15, part 1: Debian's gobgpd 3.10 in the host namespace peers over the unnumbered veth
// with FRR 8.4 in the peer namespace (FRR announces with extended next hop, and sends the
// router advertisements gobgpd needs to find the peer's link-local; radvd on h0 does the same
// for FRR). rfc5549d in the host namespace reads gobgpd's gRPC API on 127.0.0.1:50051 of that
// namespace and installs into table 1000. gobgpd runs on docs/gobgp/gobgpd.toml as written.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { Frr, peerBgpdConf, peerZebraConf } from '../helpers/frr.js';
import { HOST_MAC, PEER_ADDR, PEER_MAC, suiteEnabled, Topology, waitFor } from '../helpers/netns.js';

interface RouteJson { dst: string; gateway?: string; dev?: string; flags?: string[]; protocol?: string }
interface NeighJson { dst: string; dev: string; lladdr?: string; state?: string[] }

const enabled = suiteEnabled('GoBGP end to end', { gobgpd: 'gobgpd', vtysh: 'frr', radvd: 'radvd' });

const TABLE = '1000';
const PROTO = '200';
const STALE_S = 25;
const GOBGPD_TOML = new URL('../../docs/gobgp/gobgpd.toml', import.meta.url);

describe.runIf(enabled)('gobgpd (gRPC) -> rfc5549d', () => {
  let topo: Topology;
  let daemon: DaemonProcess;
  let peer: Frr;
  let gobgpd: ChildProcess | undefined;
  const ours = () => topo.host.json<RouteJson>('route', 'show', 'table', TABLE, 'proto', PROTO);
  const has = (dst: string) => ours().some((r) => r.dst === dst);
  const gobgpStatus = () => (JSON.parse(daemon.cli('status', '--json')) as { sources: { gobgp: Record<string, unknown> } }).sources.gobgp;
  const announce = (prefix: string, on: boolean) =>
    peer.vtysh('conf t', 'router bgp 65001', 'address-family ipv4 unicast', `${on ? '' : 'no '}network ${prefix}`);

  const startGobgpd = (): void => {
    const conf = join(daemon.dir, 'gobgpd.toml');
    writeFileSync(conf, readFileSync(GOBGPD_TOML, 'utf8').replaceAll('@INTERFACE@', 'h0'));
    const out = openSync(join(daemon.dir, 'gobgpd.log'), 'a');
    gobgpd = spawn('ip', ['netns', 'exec', topo.host.name, 'gobgpd', '-f', conf, '--api-hosts', '127.0.0.1:50051', '--pprof-disable', '-p'], { stdio: ['ignore', out, out] });
  };
  const gobgpdLog = () => readFileSync(join(daemon.dir, 'gobgpd.log'), 'utf8').slice(-3000);

  beforeAll(async () => {
    topo = Topology.create();
    daemon = new DaemonProcess(topo.host, {
      kernel: { table: Number(TABLE), protocol: Number(PROTO) },
      interfaces: ['h0'],
      sources: { gobgp: { enabled: true, address: '127.0.0.1:50051', 'reconnect-max': 2 } },
      graceful: { 'stale-time': STALE_S },
    });
    await daemon.start();
    // FRR's unnumbered peer talks only to a link-local it has heard a router advertisement from
    const radvdConf = join(daemon.dir, 'radvd.conf');
    writeFileSync(radvdConf, 'interface h0 {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 4;\n  AdvDefaultLifetime 0;\n  AdvSourceLLAddress on;\n};\n');
    topo.host.exec('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']); // radvd refuses to run without it
    spawn('ip', ['netns', 'exec', topo.host.name, 'radvd', '-n', '-C', radvdConf, '-p', join(daemon.dir, 'radvd.pid'), '-m', 'stderr'], { stdio: 'ignore' }).unref();
    peer = new Frr(topo.peer, daemon.dir, 'peer-frr');
    peer.startZebra(peerZebraConf(['p0']));
    peer.startBgpd(peerBgpdConf(['p0']));
    // gobgpd's neighbor-interface needs the peer's link-local in the neighbour table (its RAs)
    await waitFor('peer link-local in the host neighbour table', () => topo.host.json<NeighJson>('-6', 'neigh', 'show', 'dev', 'h0').some((n) => n.dst.startsWith('fe80:')), 30_000, 200);
    startGobgpd();
    try {
      await waitFor('routes from gobgpd in our table', () => has(PEER_ADDR) && has('10.99.2.0/24'), 60_000, 200);
    } catch (err) {
      console.error(`[gobgp] gobgpd log: ${gobgpdLog()}\n[gobgp] daemon status: ${JSON.stringify(gobgpStatus())}`);
      throw err;
    }
  }, 120_000);

  afterAll(async () => {
    gobgpd?.kill('SIGKILL');
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    topo?.destroy();
  });

  it('installs the routes via the peer placeholder with its MAC, and a ping crosses to the peer loopback', async () => {
    const r = ours().find((x) => x.dst === PEER_ADDR)!;
    expect(r).toMatchObject({ gateway: '169.254.0.1', dev: 'h0' });
    expect(r.flags).toContain('onlink');
    const neigh = topo.host.json<NeighJson>('neigh', 'show', '169.254.0.1', 'dev', 'h0');
    expect(neigh).toMatchObject([{ dst: '169.254.0.1', lladdr: PEER_MAC, state: ['PERMANENT'] }]);
    expect(HOST_MAC).not.toBe(PEER_MAC);
    expect(topo.host.ip('route', 'get', PEER_ADDR)).toMatch(new RegExp(`table ${TABLE}`));
    await waitFor('ping through our table', () => topo.host.ping(PEER_ADDR, 1), 20_000, 500);
    expect(gobgpStatus()).toMatchObject({ connected: true, phase: 'live', synced: true, routes: 2 });
  });

  it('an announce and a withdraw on FRR reach our table', async () => {
    announce('10.99.3.0/24', true);
    await waitFor('announced', () => has('10.99.3.0/24'), 30_000, 100);
    announce('10.99.3.0/24', false);
    await waitFor('withdrawn', () => !has('10.99.3.0/24'), 30_000, 100);
    expect(has(PEER_ADDR)).toBe(true);
  });

  it('rfc5549d restarted: its first list of gobgpd\'s RIB brings every route back, and the kernel keeps them throughout', async () => {
    expect(await daemon.stop('SIGTERM')).toBe(0);
    const logFrom = daemon.logs().length;
    await daemon.start();
    await waitFor('the RIB listed', () => daemon.logs().slice(logFrom).find((l) => l.event === 'replayEnd' && String(l.session).startsWith('gobgp#')), 30_000, 100);
    const listed = daemon.logs().slice(logFrom).find((l) => l.event === 'replayEnd' && String(l.session).startsWith('gobgp#'))!;
    expect(listed).toMatchObject({ destinations: 2, routes: 2 });
    expect(gobgpStatus()).toMatchObject({ phase: 'live', routes: 2 });
    expect(has(PEER_ADDR) && has('10.99.2.0/24')).toBe(true);
    expect(daemon.logs().slice(logFrom).filter((l) => l.event === 'routeWritten' && l.op === 'route.delete')).toEqual([]);
  });

  it('gobgpd killed: routes are held; restarted: the new generation refreshes them and nothing is swept', async () => {
    const logFrom = daemon.logs().length;
    gobgpd!.kill('SIGKILL');
    await waitFor('disconnect seen', () => daemon.logs().slice(logFrom).some((l) => l.event === 'sourceDisconnected' && String(l.session).startsWith('gobgp#')), 10_000);
    expect(has(PEER_ADDR) && has('10.99.2.0/24')).toBe(true);
    startGobgpd();
    await waitFor('a new generation listed', () => daemon.logs().slice(logFrom).some((l) => l.event === 'replayEnd' && String(l.session).startsWith('gobgp#')), 30_000, 200);
    // held while gobgpd re-learns from FRR, refreshed by the new generation before stale-time ends
    expect(has(PEER_ADDR) && has('10.99.2.0/24')).toBe(true);
    await waitFor('stale-time over', () => daemon.logs().slice(logFrom).find((l) => l.event === 'gobgpStaleWithdrawn'), (STALE_S + 10) * 1000, 200);
    const swept = daemon.logs().slice(logFrom).find((l) => l.event === 'gobgpStaleWithdrawn')!;
    if (swept.withdrawn !== 0) console.error(`[gobgp] gobgpd log after restart: ${gobgpdLog()}`);
    expect(swept.withdrawn).toBe(0);
    expect(has(PEER_ADDR) && has('10.99.2.0/24')).toBe(true);
    expect(gobgpStatus()).toMatchObject({ connected: true, phase: 'live', routes: 2 });
    expect(Number(gobgpStatus().generation)).toBeGreaterThanOrEqual(2);
    // no delete of ours since the kill: the routes stayed in the kernel throughout
    expect(daemon.logs().slice(logFrom).filter((l) => l.event === 'routeWritten' && l.op === 'route.delete')).toEqual([]);
    await waitFor('ping through our table', () => topo.host.ping(PEER_ADDR, 1), 20_000, 500);
  }, 90_000);

  it('the neighbour going down withdraws its routes; back up, they return', async () => {
    peer.vtysh('conf t', 'router bgp 65001', 'neighbor p0 shutdown');
    await waitFor('withdrawn on session down', () => !has(PEER_ADDR) && !has('10.99.2.0/24'), 30_000, 200);
    peer.vtysh('conf t', 'router bgp 65001', 'no neighbor p0 shutdown');
    await waitFor('back', () => has(PEER_ADDR) && has('10.99.2.0/24'), 60_000, 200);
  }, 90_000);
});
