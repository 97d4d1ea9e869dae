// Issue 11, "longest match across tables" and "safe defaults": our table behind a rule the
// daemon keeps, throw routes for main's more-specific routes, and the embedded default.
// Asserted as an operator would: ip -j route get / rule show / route show, and pings.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { isOurProtocol, kernelSuiteEnabled, Netns, PEER_LL, sh, sleep, Topology, waitFor } from '../helpers/netns.js';

interface RouteJson { dst: string; type?: string; gateway?: string; dev?: string; protocol?: string; table?: string; metric?: number }
interface RuleJson { priority: number; src?: string; srclen?: number; table: string; protocol?: string }

const enabled = kernelSuiteEnabled('own table and rule (netns)');
const OURS = { protocol: 200, table: 5549, 'rule-priority': 5549 };
/** a BGP-like /24 of ours; the peer answers at .1 */
const OUR_PREFIX = '10.99.2.0/24';
const PEER_IN_PREFIX = '10.99.2.1';
/** a connected /25 inside it, on a local veth to a LAN namespace */
const LAN = { prefix: '10.99.2.128/25', host: '10.99.2.129', station: '10.99.2.130' };

describe.runIf(enabled)('our table, its rule and longest match across it and main', () => {
  let topo: Topology;
  let daemon: DaemonProcess | undefined;
  let lan: Netns | undefined;

  beforeEach(() => {
    topo = Topology.create();
    topo.peer.ip('addr', 'add', `${PEER_IN_PREFIX}/32`, 'dev', 'lo');
  });
  afterEach(async () => {
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    daemon = undefined;
    if (lan) sh('ip', ['netns', 'del', lan.name], { allowFail: true });
    lan = undefined;
    topo.destroy();
  });

  const routeGet = (addr: string) => topo.host.json<RouteJson>('route', 'get', addr)[0];
  const throws = () => topo.host.json<RouteJson>('route', 'show', 'table', '5549', 'type', 'throw').map((r) => `${r.dst} proto ${isOurProtocol(r.protocol) ? '200' : r.protocol}`);
  const rules = () => topo.host.json<RuleJson>('-d', 'rule', 'show').map((r) => `${r.priority}${r.src && r.src !== 'all' ? ` from ${r.src}/${r.srclen}` : ''} lookup ${r.table}${r.protocol ? ` proto ${r.protocol}` : ''}`);
  const ourRule = '5549 lookup 5549 proto 200';

  /** a LAN namespace on a veth l0 <-> l1, 10.99.2.129/25 on our side: main gets the connected /25 */
  function buildLan(): Netns {
    const ns = new Netns(`r5-${process.pid}-lan`);
    sh('ip', ['netns', 'add', ns.name]);
    lan = ns;
    sh('ip', ['link', 'add', 'l0', 'netns', topo.host.name, 'type', 'veth', 'peer', 'name', 'l1', 'netns', ns.name]);
    ns.ip('link', 'set', 'lo', 'up');
    ns.ip('addr', 'add', `${LAN.station}/25`, 'dev', 'l1');
    ns.ip('link', 'set', 'l1', 'up');
    topo.host.ip('addr', 'add', `${LAN.host}/25`, 'dev', 'l0');
    topo.host.ip('link', 'set', 'l0', 'up');
    return ns;
  }

  it('a connected /25 inside our /24 still wins for its addresses; its throw route comes and goes with it', async () => {
    buildLan();
    // the peer's way back to the LAN's side of the host too
    topo.peer.ip('route', 'replace', LAN.prefix, 'via', '169.254.0.1', 'dev', 'p0', 'onlink');
    daemon = new DaemonProcess(topo.host, { kernel: OURS });
    await daemon.start();
    const feed = await daemon.connect();
    feed.send({ op: 'add', prefix: OUR_PREFIX, nexthops: [{ via: PEER_LL, dev: 'h0' }] });
    await waitFor('our /24 in table 5549', () => topo.host.json<RouteJson>('route', 'show', 'table', '5549', 'proto', '200').some((r) => r.dst === OUR_PREFIX));
    await waitFor('throw for the connected /25', () => JSON.stringify(throws()) === JSON.stringify([`${LAN.prefix} proto 200`]));
    expect(rules()).toContain(ourRule);

    expect(routeGet(LAN.station)).toMatchObject({ dev: 'l0' });
    expect(routeGet(LAN.station)?.gateway).toBeUndefined();
    expect(routeGet('10.99.2.5')).toMatchObject({ dev: 'h0', gateway: '169.254.0.1' });
    expect(topo.host.ping(LAN.station)).toBe(true);
    expect(topo.host.ping(PEER_IN_PREFIX)).toBe(true);

    // someone deletes our throw: it is repaired
    topo.host.ip('route', 'del', 'throw', LAN.prefix, 'table', '5549', 'proto', '200');
    await waitFor('throw repaired', () => throws().length === 1);

    // the connected route goes: so does the throw, and the /25's addresses go to the peer
    topo.host.ip('addr', 'del', `${LAN.host}/25`, 'dev', 'l0');
    await waitFor('throw gone', () => throws().length === 0);
    expect(routeGet(LAN.station)).toMatchObject({ dev: 'h0', gateway: '169.254.0.1' });

    // and back
    topo.host.ip('addr', 'add', `${LAN.host}/25`, 'dev', 'l0');
    await waitFor('throw back', () => throws().length === 1);
    expect(routeGet(LAN.station)).toMatchObject({ dev: 'l0' });
    expect(topo.host.ping(LAN.station)).toBe(true);

    // a route of any protocol in main counts (a static /26 inside ours), one of main's own type throw does not
    topo.host.ip('route', 'add', '10.99.2.64/26', 'dev', 'l0', 'proto', 'static');
    topo.host.ip('route', 'add', 'throw', '10.99.2.32/27');
    await waitFor('throw for the static /26', () => throws().includes('10.99.2.64/26 proto 200'));
    expect(throws()).not.toContain('10.99.2.32/27 proto 200');

    // we take the exact /25 ourselves: its throw gives way to our route
    feed.send({ op: 'add', prefix: LAN.prefix, nexthops: [{ via: PEER_LL, dev: 'h0' }] });
    await waitFor('our /25 instead of the throw', () => {
      const ours = topo.host.json<RouteJson>('route', 'show', 'table', '5549', LAN.prefix);
      return ours.length === 1 && ours[0]!.type === undefined && ours[0]!.gateway === '169.254.0.1';
    });
    expect(throws()).toEqual(['10.99.2.64/26 proto 200']);
    // withdrawn again: the throw is back
    feed.send({ op: 'withdraw', prefix: LAN.prefix });
    await waitFor('throw back after withdraw', () => throws().includes(`${LAN.prefix} proto 200`));
    feed.close();
  });

  it('the rule: created at start, re-created after ip rule del, left on SIGTERM, removed with withdraw-on-exit; foreign rules untouched', async () => {
    topo.host.ip('rule', 'add', 'pref', '100', 'lookup', '1000');
    topo.host.ip('rule', 'add', 'pref', '5549', 'from', '10.0.0.0/8', 'lookup', '5549');
    const foreign = ['100 lookup 1000 proto unspec', '5549 from 10.0.0.0/8 lookup 5549 proto unspec'];
    const kernels = ['0 lookup local proto kernel', '32766 lookup main proto kernel', '32767 lookup default proto kernel'];
    const foreignAndKernel = () => rules().filter((r) => r !== ourRule).sort();
    const untouched = [...foreign, ...kernels].sort();
    expect(foreignAndKernel()).toEqual(untouched);

    daemon = new DaemonProcess(topo.host, { kernel: OURS });
    await daemon.start();
    await waitFor('our rule', () => rules().includes(ourRule));
    expect(rules().filter((r) => r === ourRule)).toHaveLength(1);
    expect(foreignAndKernel()).toEqual(untouched);

    topo.host.ip('rule', 'del', 'pref', '5549', 'lookup', '5549', 'proto', '200');
    await waitFor('our rule re-created', () => rules().includes(ourRule));
    expect(foreignAndKernel()).toEqual(untouched);
    const status = JSON.parse(daemon.cli('status', '--json')) as { table: unknown };
    expect(status.table).toMatchObject({ id: 5549, rulePriority: 5549, ruleInstalled: true });

    expect(await daemon.stop('SIGTERM')).toBe(0);
    expect(rules()).toContain(ourRule); // graceful restart: forwarding stays
    daemon.cleanup();

    daemon = new DaemonProcess(topo.host, { kernel: OURS, graceful: { 'stale-time': 3, 'withdraw-on-exit': true } });
    await daemon.start();
    const feed = await daemon.connect();
    feed.send({ op: 'add', prefix: OUR_PREFIX, nexthops: [{ via: PEER_LL, dev: 'h0' }] });
    await waitFor('our route', () => topo.host.json<RouteJson>('route', 'show', 'table', '5549', 'proto', '200').length === 1);
    expect(rules().filter((r) => r === ourRule)).toHaveLength(1); // adopted, not duplicated
    feed.close();
    expect(await daemon.stop('SIGTERM')).toBe(0);
    expect(rules()).not.toContain(ourRule);
    expect(topo.host.json<RouteJson>('route', 'show', 'table', '5549')).toEqual([]);
    expect(foreignAndKernel()).toEqual(untouched);
  });

  it('kernel.rule-priority null: no rule is made (bring your own)', async () => {
    daemon = new DaemonProcess(topo.host, { kernel: { ...OURS, 'rule-priority': null } });
    await daemon.start();
    const feed = await daemon.connect();
    feed.send({ op: 'add', prefix: OUR_PREFIX, nexthops: [{ via: PEER_LL, dev: 'h0' }] });
    await waitFor('our route', () => topo.host.json<RouteJson>('route', 'show', 'table', '5549', 'proto', '200').length === 1);
    await sleep(200);
    expect(rules().some((r) => r.includes('proto 200'))).toBe(false);
    feed.close();
  });

  it('the embedded default (no kernel section) installs into table 5549 behind its rule, and a ping crosses; `proto rfc5549d` names it', async () => {
    daemon = new DaemonProcess(topo.host);
    await daemon.start();
    const feed = await daemon.connect();
    feed.send({ op: 'add', prefix: OUR_PREFIX, nexthops: [{ via: PEER_LL, dev: 'h0' }] });
    const route = await waitFor('route in 5549', () => topo.host.json<RouteJson>('route', 'show', 'table', '5549', 'proto', '200').find((r) => r.dst === OUR_PREFIX));
    expect(route).toMatchObject({ gateway: '169.254.0.1', dev: 'h0', metric: 20 });
    expect(topo.host.json<RouteJson>('route', 'show', 'table', 'main', 'proto', '200')).toEqual([]);
    expect(rules()).toContain(ourRule);
    expect(topo.host.ping(PEER_IN_PREFIX)).toBe(true);

    // iproute2 reads the name from rt_protos.d: `ip netns exec` bind-mounts /etc/netns/<ns>/iproute2 over /etc/iproute2
    const etc = `/etc/netns/${topo.host.name}/iproute2`;
    try {
      mkdirSync(etc, { recursive: true });
      cpSync('/etc/iproute2', etc, { recursive: true });
      cpSync(new URL('../../config/rt_protos.d/rfc5549d.conf', import.meta.url), `${etc}/rt_protos.d/rfc5549d.conf`);
      expect(topo.host.exec('ip', ['route', 'show', 'table', '5549', 'proto', 'rfc5549d'])).toMatch(/^10\.99\.2\.0\/24 via 169\.254\.0\.1 dev h0 metric 20 onlink/);
      const shown = JSON.parse(topo.host.exec('ip', ['-j', 'route', 'show', 'table', '5549'])) as RouteJson[];
      expect(shown.map((r) => `${r.dst} ${r.protocol}`)).toEqual([`${OUR_PREFIX} rfc5549d`]);
    } finally {
      rmSync(`/etc/netns/${topo.host.name}`, { recursive: true, force: true });
      sh('rmdir', ['/etc/netns'], { allowFail: true });
    }
    feed.close();
  });
});
