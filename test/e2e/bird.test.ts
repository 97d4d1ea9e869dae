// Issue 15, the kernel-table source: real BIRD 2 in the host namespace peers with real FRR 8.4
// in the peer namespace over an unnumbered veth (extended next hop) and exports into kernel
// table 100, with the configuration docs/bird.md shows (docs/bird/bird.conf, as written).
// Nothing forwards from table 100; rfc5549d reads it and installs the placeholder form in
// table 1000, which the namespace forwards from, so a ping crosses through our route.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { Frr, peerBgpdConf, peerZebraConf } from '../helpers/frr.js';
import { PEER_ADDR, PEER_LL, PEER_MAC, sh, suiteEnabled, Topology, waitFor } from '../helpers/netns.js';

interface RouteJson { dst: string; gateway?: string; via?: { family: string; host: string }; dev?: string; flags?: string[]; protocol?: string }
interface NeighJson { dst: string; lladdr?: string; state?: string[] }

const enabled = suiteEnabled('BIRD end to end', { bird: 'bird2', birdc: 'bird2', vtysh: 'frr', '/usr/lib/frr/zebra': 'frr' });

const TABLE = '1000';
const PROTO = '200';
const BIRD_CONF = new URL('../../docs/bird/bird.conf', import.meta.url);

/** docs/bird/bird.conf with its placeholders filled in, exactly as docs/bird.md says to. */
function birdConf(values: Record<'ROUTER_ID' | 'LOCAL_AS' | 'PEER_AS' | 'PEER_LL' | 'IFACE' | 'LOG', string>): string {
  const text = readFileSync(BIRD_CONF, 'utf8').replace(/@([A-Z_]+)@/g, (m, k: string) => {
    const v = (values as Record<string, string>)[k];
    if (v === undefined) throw new Error(`docs/bird/bird.conf: no value for ${m}`);
    return v;
  });
  return text;
}

describe.runIf(enabled)('BIRD 2 (kernel table 100) -> rfc5549d', () => {
  let topo: Topology;
  let daemon: DaemonProcess;
  let peer: Frr;
  let birdCtl: string;
  const ours = () => topo.host.json<RouteJson>('route', 'show', 'table', TABLE, 'proto', PROTO);
  const birds = () => topo.host.json<RouteJson>('route', 'show', 'table', '100');
  const has = (dst: string) => ours().some((r) => r.dst === dst);

  beforeAll(async () => {
    topo = Topology.create();
    daemon = new DaemonProcess(topo.host, {
      kernel: { table: Number(TABLE), protocol: Number(PROTO) },
      interfaces: ['h0'],
      sources: { kernel: { tables: [100] } },
    });
    await daemon.start();
    peer = new Frr(topo.peer, daemon.dir, 'peer-frr');
    peer.startZebra(peerZebraConf(['p0']));
    peer.startBgpd(peerBgpdConf(['p0']));
    const conf = join(daemon.dir, 'bird.conf');
    birdCtl = join(daemon.dir, 'bird.ctl');
    writeFileSync(conf, birdConf({ ROUTER_ID: '10.99.0.2', LOCAL_AS: '65002', PEER_AS: '65001', PEER_LL, IFACE: 'h0', LOG: join(daemon.dir, 'bird.log') }));
    topo.host.exec('bird', ['-c', conf, '-s', birdCtl, '-P', join(daemon.dir, 'bird.pid')]);
    await waitFor('BIRD\'s routes in table 100', () => birds().some((r) => r.dst === PEER_ADDR) && birds().some((r) => r.dst === '10.99.2.0/24'), 60_000, 200);
  }, 90_000);

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    topo?.destroy(); // kills BIRD and FRR with everything else in the namespaces
  });

  it('BIRD writes via inet6 fe80:: into table 100; our table gets the placeholder form with the peer\'s MAC', async () => {
    const b = birds().find((r) => r.dst === PEER_ADDR)!;
    expect(b).toMatchObject({ via: { family: 'inet6', host: PEER_LL }, dev: 'h0', protocol: 'bird' });
    await waitFor('both prefixes in table 1000', () => has(PEER_ADDR) && has('10.99.2.0/24'), 30_000, 100);
    expect(ours().find((r) => r.dst === PEER_ADDR)).toMatchObject({ gateway: '169.254.0.1', dev: 'h0', flags: expect.arrayContaining(['onlink']) });
    expect(topo.host.json<NeighJson>('neigh', 'show', 'dev', 'h0', '169.254.0.1')[0]).toMatchObject({ lladdr: PEER_MAC, state: ['PERMANENT'] });
    const routes = JSON.parse(daemon.cli('routes', '--json')) as { prefix: string; source: string; state: string }[];
    expect(routes.find((r) => r.prefix === `${PEER_ADDR}/32`)).toMatchObject({ source: 'kernel-table#100', state: 'installed' });
  });

  it('a ping crosses through our route (table 100 is not forwarded from)', async () => {
    expect(topo.host.ip('rule', 'show')).not.toMatch(/lookup 100\b/);
    expect(topo.host.ip('route', 'get', PEER_ADDR)).toMatch(new RegExp(`via 169\\.254\\.0\\.1 dev h0 table ${TABLE}`));
    await waitFor('ping through our table', () => topo.host.ping(PEER_ADDR, 1), 20_000, 500);
  });

  it('a withdraw on FRR leaves BIRD\'s table 100 and then ours; the other route stays', async () => {
    peer.vtysh('conf t', 'router bgp 65001', 'address-family ipv4 unicast', 'no network 10.99.2.0/24');
    await waitFor('withdrawn from table 100', () => !birds().some((r) => r.dst === '10.99.2.0/24'), 30_000, 100);
    await waitFor('withdrawn from our table', () => !has('10.99.2.0/24'), 10_000, 50);
    expect(has(PEER_ADDR)).toBe(true);
    peer.vtysh('conf t', 'router bgp 65001', 'address-family ipv4 unicast', 'network 10.99.2.0/24');
    await waitFor('announced again', () => has('10.99.2.0/24'), 30_000, 100);
  });

  it('BIRD shut down: it removes its routes from table 100, and ours go with them', async () => {
    sh('birdc', ['-s', birdCtl, 'down']);
    await waitFor('table 100 empty', () => birds().length === 0, 20_000, 100);
    await waitFor('our table empty', () => ours().length === 0, 10_000, 50);
  });
});
