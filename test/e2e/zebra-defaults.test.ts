// Issue 11: the embedded default (no kernel section at all) beside FRR zebra in one namespace,
// zebra started from docs/frr/frr.conf as written. The default must not fight zebra: zebra's
// own routes in main stay exactly as zebra wrote them, ours go to table 5549 behind the
// daemon's own rule, and a connected route more specific than a BGP prefix still wins for its
// addresses (a throw route in our table sends the lookup on to main).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { docsFrrConf, docsZebraOptions, Frr, peerBgpdConf, peerZebraConf } from '../helpers/frr.js';
import { PEER_ADDR, sleep, suiteEnabled, Topology, waitFor } from '../helpers/netns.js';

interface RouteJson { dst: string; type?: string; gateway?: string; dev?: string; protocol?: string; nexthops?: { dev: string }[] }
interface RuleJson { priority: number; table?: string; protocol?: string }

const enabled = suiteEnabled('zebra beside the embedded default', { vtysh: 'frr', '/usr/lib/frr/zebra': 'frr' });

// The embedded defaults this test is about (config/rfc5549d.yaml holds the same values).
const DEFAULT_TABLE = '5549';
const DEFAULT_PROTOCOL = '200';
const DEFAULT_RULE = 5549;
const BGP_PREFIX = '10.99.2.0/24'; // announced by the peer
const CONNECTED = '10.99.2.128/25'; // a local subnet inside it

describe.runIf(enabled)('the embedded default beside zebra in one namespace', () => {
  let topo: Topology;
  let daemon: DaemonProcess;
  let peer: Frr;
  let host: Frr;
  let frrDir: string;
  /** zebra's own routes in main, as the kernel has them (what must stay untouched) */
  const zebraMain = () => JSON.stringify(topo.host.json<RouteJson>('route', 'show', 'table', 'main', 'proto', 'bgp'));
  const ours = () => topo.host.json<RouteJson>('route', 'show', 'table', DEFAULT_TABLE, 'proto', DEFAULT_PROTOCOL);

  beforeAll(async () => {
    topo = Topology.create({ secondLink: true, noReturnPath: true });
    frrDir = mkdtempSync(join(tmpdir(), 'rfc5549d-frr-'));
    peer = new Frr(topo.peer, frrDir, 'peer-frr');
    host = new Frr(topo.host, frrDir, 'host-frr');
    peer.startZebra(peerZebraConf(['p0', 'p1']));
    peer.startBgpd(peerBgpdConf(['p0', 'p1']));
    host.startIntegrated(docsFrrConf('frr.conf', { swp1: 'h0', swp2: 'h1' }), docsZebraOptions());
    await waitFor('zebra installs its BGP routes in main', () => {
      const m = topo.host.json<RouteJson>('route', 'show', 'table', 'main', 'proto', 'bgp').map((r) => r.dst);
      return m.includes(PEER_ADDR) && m.includes(BGP_PREFIX);
    }, 60_000, 200);
  }, 90_000);

  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    topo?.destroy(); // ends FRR with the namespaces' processes
    if (frrDir) rmSync(frrDir, { recursive: true, force: true });
  });

  it('leaves zebra\'s main-table routes as they were and installs ours in table 5549 behind its own rule', async () => {
    const before = zebraMain();
    // No kernel section: protocol, table and rule are the embedded defaults.
    daemon = new DaemonProcess(topo.host, { sources: { fpm: { enabled: true, 'settle-time': 2 } } });
    await daemon.start();
    await waitFor('both prefixes in our table', () => {
      const o = ours().map((r) => r.dst);
      return o.includes(PEER_ADDR) && o.includes(BGP_PREFIX);
    }, 30_000, 200);
    await sleep(5000); // zebra's echoes of our routes have arrived by now
    expect(ours().map((r) => r.dst).sort()).toEqual([PEER_ADDR, BGP_PREFIX].sort());
    expect(zebraMain()).toBe(before);
    const rules = topo.host.json<RuleJson>('rule', 'show');
    expect(rules.filter((r) => r.priority === DEFAULT_RULE)).toEqual([expect.objectContaining({ table: DEFAULT_TABLE })]);
    expect(topo.host.ip('route', 'get', PEER_ADDR)).toMatch(new RegExp(`table ${DEFAULT_TABLE}`));
    await waitFor('ping through our table', () => topo.host.ping(PEER_ADDR, 1), 20_000, 500);
    expect(daemon.logs().some((l) => l.event === 'protocolSharedWithZebra')).toBe(false);
  }, 60_000);

  it('a connected route inside a BGP prefix still wins for its addresses; the rest goes via our table', async () => {
    topo.host.ip('link', 'add', 'h9', 'type', 'veth', 'peer', 'name', 'h9b');
    topo.host.ip('link', 'set', 'h9', 'up');
    topo.host.ip('link', 'set', 'h9b', 'up');
    topo.host.ip('addr', 'add', '10.99.2.129/25', 'dev', 'h9');
    const throwThere = () => ours().some((r) => r.dst === CONNECTED && r.type === 'throw');
    await waitFor('a throw for the connected /25 in our table', throwThere, 20_000, 100);
    expect(topo.host.ip('route', 'get', '10.99.2.130')).toMatch(/dev h9 /);
    expect(topo.host.ip('route', 'get', '10.99.2.5')).toMatch(new RegExp(`via 169\\.254\\.0\\.\\d+ dev h[01] table ${DEFAULT_TABLE}`));
    topo.host.ip('addr', 'del', '10.99.2.129/25', 'dev', 'h9');
    await waitFor('the throw goes with the connected route', () => !throwThere(), 20_000, 100);
    expect(topo.host.ip('route', 'get', '10.99.2.130')).toMatch(new RegExp(`table ${DEFAULT_TABLE}`));
    topo.host.ip('link', 'del', 'h9');
  }, 60_000);
});
