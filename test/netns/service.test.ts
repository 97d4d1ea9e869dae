// The daemon as a service, in a namespace: systemd notify protocol, SIGHUP reload (valid and
// invalid files), SIGTERM with and without withdraw-on-exit, limits and filters, metrics.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DaemonProcess, type FeedClient } from '../helpers/daemon.js';
import { kernelSuiteEnabled, OUR_PROTOCOL, OUR_TABLE, PEER_ADDR, PEER_LL, PEER_MAC, sleep, Topology, waitFor } from '../helpers/netns.js';

const enabled = kernelSuiteEnabled('service: notify, reload, stop, limits, metrics (netns)');

interface RouteJson { dst: string }
const add = (prefix: string) => ({ op: 'add', prefix, nexthops: [{ via: PEER_LL, dev: 'h0' }] });

/** A datagram socket the test owns, standing in for systemd's notify socket. */
class NotifyReceiver {
  readonly messages: string[] = [];
  private readonly child: ChildProcess;
  constructor(readonly path: string) {
    // Node has no AF_UNIX datagram sockets; python3 (node-gyp's prerequisite) does.
    const py = 'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound",flush=True)\n'
      + 'while True:\n  d=s.recv(4096)\n  print(d.decode().replace("\\n","|"),flush=True)\n';
    this.child = spawn('python3', ['-c', py, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      this.messages.push(...lines);
    });
  }
  async bound(): Promise<void> {
    await waitFor('notify socket bound', () => this.messages.includes('bound'), 5000, 20);
  }
  close(): void {
    this.child.kill();
  }
}

describe.runIf(enabled)('rfc5549d as a service', () => {
  let topo: Topology;
  let daemon: DaemonProcess | undefined;
  let receiver: NotifyReceiver | undefined;
  let feed: FeedClient | undefined;
  const ownRoutes = () => topo.host.json<RouteJson>('route', 'show', 'table', 'all', 'proto', OUR_PROTOCOL).map((r) => r.dst).sort();
  const placeholder = () => topo.host.json<{ lladdr?: string }>('neigh', 'show', '169.254.0.1', 'dev', 'h0')[0];

  beforeEach(() => {
    topo = Topology.create();
  });
  afterEach(async () => {
    feed?.close();
    feed = undefined;
    receiver?.close();
    receiver = undefined;
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    daemon = undefined;
    topo.destroy();
  });

  it('notify protocol: READY=1 after the kernel dump, watchdog keep-alives, RELOADING=1 on SIGHUP, STOPPING=1 on SIGTERM', async () => {
    daemon = new DaemonProcess(topo.host, {}, { WATCHDOG_USEC: '400000' });
    receiver = new NotifyReceiver(join(daemon.dir, 'notify.sock'));
    await receiver.bound();
    daemon.env.NOTIFY_SOCKET = receiver.path;
    await daemon.start();
    const ready = await waitFor('READY=1', () => receiver!.messages.find((m) => m.startsWith('READY=1')));
    expect(ready).toMatch(new RegExp(`MAINPID=\\d+\\|STATUS=0 routes installed, 0 pending`));
    // READY=1 is sent after the kernel was dumped and the sources listen
    expect(daemon.logs().findIndex((l) => l.event === 'kernelDumped')).toBeLessThan(daemon.logs().findIndex((l) => l.event === 'ready'));
    await waitFor('two watchdog keep-alives', () => receiver!.messages.filter((m) => m === 'WATCHDOG=1').length >= 2, 3000);

    daemon.signal('SIGHUP');
    await waitFor('RELOADING=1 then READY=1', () => {
      const i = receiver!.messages.findIndex((m) => m.startsWith('RELOADING=1|MONOTONIC_USEC='));
      return i >= 0 && receiver!.messages.slice(i).some((m) => m.startsWith('READY=1'));
    });
    daemon.signal('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    expect(receiver.messages).toContain('STOPPING=1');
  });

  it('SIGTERM leaves routes and placeholder in place by default', async () => {
    daemon = new DaemonProcess(topo.host);
    await daemon.start();
    feed = await daemon.connect();
    feed.send(add(`${PEER_ADDR}/32`), add('10.99.2.0/24'));
    await waitFor('installed', () => ownRoutes().length === 2);
    daemon.signal('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    expect(ownRoutes()).toEqual([PEER_ADDR, '10.99.2.0/24'].sort());
    expect(placeholder()).toMatchObject({ lladdr: PEER_MAC });
    expect(daemon.logs().find((l) => l.event === 'stopped')).toMatchObject({ ownedRoutesLeft: 2 });
  });

  it('SIGTERM with graceful.withdraw-on-exit removes every owned route and the placeholder, and nothing else', async () => {
    topo.host.ip('route', 'add', '10.200.0.0/24', 'dev', 'h0', 'proto', 'static');
    daemon = new DaemonProcess(topo.host, { graceful: { 'stale-time': 3, 'withdraw-on-exit': true } });
    await daemon.start();
    feed = await daemon.connect();
    feed.send(add(`${PEER_ADDR}/32`), add('10.99.2.0/24'));
    await waitFor('installed', () => ownRoutes().length === 2);
    daemon.signal('SIGTERM');
    expect(await daemon.exitCode()).toBe(0);
    expect(ownRoutes()).toEqual([]);
    expect(placeholder()).toBeUndefined();
    expect(topo.host.json<RouteJson>('route', 'show', 'proto', 'static').map((r) => r.dst)).toEqual(['10.200.0.0/24']);
    expect(daemon.logs().find((l) => l.event === 'stopped')).toMatchObject({ ownedRoutesLeft: 0, placeholdersLeft: 0 });
  });

  it('SIGHUP with a valid file: live sections applied (filters withdraw what they now reject), the rest waits for a restart', async () => {
    daemon = new DaemonProcess(topo.host);
    await daemon.start();
    feed = await daemon.connect();
    feed.send(add(`${PEER_ADDR}/32`), add('10.99.2.0/24'));
    await waitFor('installed', () => ownRoutes().length === 2);

    daemon.writeConfig({
      log: { level: 'info' },
      kernel: { metric: 30 },
      filters: { rules: [{ action: 'reject', prefix: '0.0.0.0/0' }, { action: 'reject', prefix: '10.99.2.0/24', le: 32 }] },
      limits: { 'max-routes': 5 },
    });
    daemon.signal('SIGHUP');
    const reloaded = await waitFor('reloaded', () => daemon!.logs().find((l) => l.event === 'configReloaded'));
    expect(reloaded).toMatchObject({ applied: ['log.level', 'limits', 'filters'], needRestart: ['kernel'] });
    await waitFor('filtered route withdrawn from the kernel', () => ownRoutes().length === 1);
    expect(ownRoutes()).toEqual([PEER_ADDR]);
    feed.send(add('10.99.2.128/25'));
    const reply = await waitFor('refusal reply', () => feed!.replies[0]);
    expect(reply).toMatchObject({ code: 'ROUTE_FILTERED', error: 'prefix: "10.99.2.128/25" refused by filters.rules.1 (reject 10.99.2.0/24 le 32)' });
    const status = JSON.parse(daemon.cli('status', '--json')) as { routes: { maxRoutes: number } };
    expect(status.routes.maxRoutes).toBe(5);
    expect(topo.host.ip('route', 'show', 'table', OUR_TABLE, `${PEER_ADDR}/32`)).toContain('metric 20'); // kernel.metric waits for a restart
    const before = daemon.logs().length;
    feed.send(add('10.99.4.0/24'));
    await waitFor('installed at info level', () => ownRoutes().includes('10.99.4.0/24'));
    await sleep(100);
    expect(daemon.logs().slice(before).filter((l) => l.level === 20)).toEqual([]); // debug is off now
  });

  it('SIGHUP with an invalid file: reported with the field and value, the running config and routes kept', async () => {
    daemon = new DaemonProcess(topo.host);
    await daemon.start();
    feed = await daemon.connect();
    feed.send(add(`${PEER_ADDR}/32`));
    await waitFor('installed', () => ownRoutes().length === 1);
    daemon.writeConfig({ limits: { 'max-routes': -3 }, filters: { rules: [{ action: 'reject', prefix: '10.0.0.1/8' }] } });
    daemon.signal('SIGHUP');
    const failed = await waitFor('reload failed', () => daemon!.logs().find((l) => l.event === 'reloadFailed'));
    const problems = (failed.problems as string[]).join('\n');
    expect(problems).toContain('limits.max-routes');
    expect(problems).toContain('-3');
    expect(daemon.logs().some((l) => l.event === 'configReloaded')).toBe(false);
    expect(ownRoutes()).toEqual([PEER_ADDR]);
    expect(JSON.parse(daemon.cli('status', '--json'))).toMatchObject({ routes: { maxRoutes: 1_000_000 } });
    feed.send(add('10.99.2.0/24'));
    await waitFor('still installing', () => ownRoutes().length === 2);
  });

  it('limits.max-routes: beyond it new prefixes are refused with an error naming the prefix; installed ones stay', async () => {
    daemon = new DaemonProcess(topo.host, { limits: { 'max-routes': 3 } });
    await daemon.start();
    feed = await daemon.connect();
    feed.send(add('10.99.2.0/24'), add('10.99.3.0/24'), add('10.99.4.0/24'), add('10.99.5.0/24'), add('10.99.6.0/24'));
    await waitFor('three installed', () => ownRoutes().length === 3);
    await waitFor('two refusals', () => feed!.replies.length === 2);
    expect(feed.replies[0]).toMatchObject({ code: 'LIMIT_EXCEEDED', line: 4, error: 'prefix: "10.99.5.0/24" refused: limits.max-routes (3) reached; installed routes are kept' });
    feed.send(add('10.99.2.0/24')); // an update of a held prefix is not a new route
    await sleep(200);
    expect(feed.replies).toHaveLength(2);
    expect(ownRoutes()).toEqual(['10.99.2.0/24', '10.99.3.0/24', '10.99.4.0/24']);
    const refused = (JSON.parse(daemon.cli('routes', '--json')) as { prefix: string; state: string; reason?: string }[]).filter((r) => r.state === 'refused');
    expect(refused.map((r) => r.prefix)).toEqual(['10.99.5.0/24', '10.99.6.0/24']);
    expect(daemon.cli('status')).toContain('limits: max-routes 3, max-legs 64; refused so far: 2 over a limit, 0 by filters, 0 invalid');
    // a withdraw makes room
    feed.send({ op: 'withdraw', prefix: '10.99.2.0/24' }, add('10.99.5.0/24'));
    await waitFor('room made', () => ownRoutes().includes('10.99.5.0/24'));
  });

  it('the default filter refuses a default route until one is allowed', async () => {
    daemon = new DaemonProcess(topo.host);
    await daemon.start();
    feed = await daemon.connect();
    feed.send(add('0.0.0.0/0'));
    const reply = await waitFor('refusal', () => feed!.replies[0]);
    expect(reply).toMatchObject({ code: 'ROUTE_FILTERED', error: 'prefix: "0.0.0.0/0" refused by filters.rules.0 (reject 0.0.0.0/0)' });
    expect(ownRoutes()).toEqual([]);
    daemon.writeConfig({ filters: { rules: [{ action: 'accept', prefix: '0.0.0.0/0' }] } });
    daemon.signal('SIGHUP');
    await waitFor('reloaded', () => daemon!.logs().some((l) => l.event === 'configReloaded'));
    feed.send(add('0.0.0.0/0'));
    await waitFor('default route installed', () => ownRoutes().includes('default'));
  });

  it('metrics over HTTP: routes by state, refusals, passes, peers by evidence, reloads', async () => {
    daemon = new DaemonProcess(topo.host, { metrics: { listen: '127.0.0.1:9342' }, limits: { 'max-routes': 1 } });
    await daemon.start();
    feed = await daemon.connect();
    feed.send(add(`${PEER_ADDR}/32`), add('10.99.2.0/24'));
    await waitFor('installed', () => ownRoutes().length === 1);
    daemon.signal('SIGHUP');
    await waitFor('reloaded', () => daemon!.logs().some((l) => l.event === 'configReloaded'));
    const scrape = () => topo.host.exec(process.execPath, ['-e', "fetch('http://127.0.0.1:9342/metrics').then(async (r) => process.stdout.write(r.status + '\\n' + await r.text()))"]);
    const text = scrape();
    expect(text.split('\n')[0]).toBe('200');
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    expect(value('rfc5549d_routes{state="installed"}')).toBe(1);
    expect(value('rfc5549d_routes{state="pending"}')).toBe(0);
    expect(value('rfc5549d_routes_refused_total{reason="limit"}')).toBe(1);
    expect(value('rfc5549d_routes_owned_in_kernel')).toBe(1);
    expect(value('rfc5549d_rule_installed')).toBe(1); // the default keeps a rule
    expect(value('rfc5549d_throw_routes')).toBe(0);
    expect(value('rfc5549d_peers{evidence="eui64"}')! + value('rfc5549d_peers{evidence="ndp"}')! + value('rfc5549d_peers{evidence="ra"}')!).toBe(1);
    expect(value('rfc5549d_reconcile_passes_total')).toBeGreaterThan(0);
    expect(value('rfc5549d_reconcile_pass_duration_seconds_count')).toBeGreaterThan(0);
    expect(value('rfc5549d_source_messages_total{source="jsonl"}')).toBe(2);
    expect(value('rfc5549d_config_reloads_total{result="applied"}')).toBe(1);
    expect(value('rfc5549d_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE rfc5549d_routes_refused_total counter');
  });
});
