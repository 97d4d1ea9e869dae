// Issue 15, ExaBGP: ExaBGP 4.2 (Debian) passive in the host namespace, FRR 8.4 in the peer
// namespace dialling in over the unnumbered veth with extended next hop. ExaBGP runs
// `rfc5549d exabgp` as its process with docs/exabgp/exabgp.conf as written; rfc5549d in the
// host puts the routes in table 1000 behind a rule, and forwarding is proven through it.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { Frr, peerBgpdConf, peerZebraConf } from '../helpers/frr.js';
import { type Netns, PEER_ADDR, PEER_LL, PEER_MAC, sleep, suiteEnabled, Topology, waitFor } from '../helpers/netns.js';

interface RouteJson { dst: string; gateway?: string; dev?: string; flags?: string[]; protocol?: string }
interface NeighJson { dst: string; dev: string; lladdr?: string; state?: string[] }

const enabled = suiteEnabled('ExaBGP end to end', { exabgp: 'exabgp', vtysh: 'frr', '/usr/lib/frr/bgpd': 'frr', radvd: 'radvd' });

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = resolve(ROOT, 'dist/src/main.js');
const TABLE = '1000';
const PROTO = '200';
const HOST_LL = 'fe80::ff:fe00:201';

/** docs/exabgp/exabgp.conf as written, its placeholders filled in for this namespace. */
function exabgpConf(socket: string): string {
  const fill: Record<string, string> = {
    RFC5549D: `${process.execPath} ${CLI}`,
    SOCKET: socket,
    PEER_LL,
    IFNAME: 'h0',
    LOCAL_LL: HOST_LL,
    ROUTER_ID: '10.98.0.1',
  };
  const text = readFileSync(resolve(ROOT, 'docs/exabgp/exabgp.conf'), 'utf8').replace(/@([A-Z_0-9]+)@/g, (m, k: string) => {
    if (!(k in fill)) throw new Error(`docs/exabgp/exabgp.conf: no value for ${m}`);
    return fill[k]!;
  });
  return text;
}

/**
 * ExaBGP's whole environment in one file handed over with --env, so /etc/exabgp/exabgp.env is
 * never read: no privilege drop (the socket is root's), no CLI named pipes under /run, no pid
 * file, logs on stdout (a file in the test's directory), listening on [::]:179 in the namespace.
 */
const EXABGP_ENV = `[exabgp.api]
cli = false
encoder = json
respawn = false

[exabgp.daemon]
daemonize = false
drop = false
pid = ''
user = 'root'

[exabgp.log]
destination = 'stdout'
level = INFO

[exabgp.tcp]
bind = '::'
port = 179
`;

class Exabgp {
  private child: ChildProcess | undefined;
  readonly log: string;

  constructor(private readonly ns: Netns, private readonly dir: string) {
    this.log = join(dir, 'exabgp.log');
  }

  start(socket: string): void {
    writeFileSync(join(this.dir, 'exabgp.env'), EXABGP_ENV);
    writeFileSync(join(this.dir, 'exabgp.conf'), exabgpConf(socket));
    const out = openSync(this.log, 'a');
    // env -i: no exabgp.* variable from the caller's environment leaks in
    this.child = spawn('ip', ['netns', 'exec', this.ns.name, 'env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', '/usr/sbin/exabgp',
      '--env', join(this.dir, 'exabgp.env'), join(this.dir, 'exabgp.conf')], { stdio: ['ignore', out, out] });
  }

  text(): string {
    try {
      return readFileSync(this.log, 'utf8');
    } catch {
      return '';
    }
  }

  /** `ip netns exec` and `env` exec, so the child is ExaBGP itself. */
  stop(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child && this.child.exitCode === null) this.child.kill(signal);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null;
  }
}

/** radvd on the host's h0: FRR's unnumbered neighbour dials only a link-local it has heard an RA from. */
function startHostRadvd(ns: Netns, dir: string): void {
  const conf = join(dir, 'radvd-host.conf');
  writeFileSync(conf, 'interface h0 {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 4;\n  AdvDefaultLifetime 0;\n  AdvSourceLLAddress on;\n};\n');
  ns.exec('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']); // radvd refuses to run without it
  spawn('ip', ['netns', 'exec', ns.name, 'radvd', '-n', '-C', conf, '-p', join(dir, 'radvd-host.pid'), '-m', 'stderr'], { stdio: 'ignore' }).unref();
}

describe.runIf(enabled)('ExaBGP 4.2 -> rfc5549d exabgp -> rfc5549d', () => {
  let topo: Topology;
  let daemon: DaemonProcess;
  let peer: Frr;
  let exabgp: Exabgp;
  const ours = () => topo.host.json<RouteJson>('route', 'show', 'table', TABLE, 'proto', PROTO);
  const has = (dst: string) => ours().some((r) => r.dst === dst);
  const why = () => `our table: ${JSON.stringify(ours())}\nexabgp log (tail): ${exabgp.text().slice(-3000)}`;

  beforeAll(async () => {
    topo = Topology.create();
    try {
      daemon = new DaemonProcess(topo.host, {
        kernel: { table: Number(TABLE), protocol: Number(PROTO) },
        interfaces: ['h0'],
        graceful: { 'stale-time': 60 },
      });
      await daemon.start();
      exabgp = new Exabgp(topo.host, daemon.dir);
      exabgp.start(daemon.socket);
      await waitFor('ExaBGP listening on [::]:179', () => /:179\b/.test(topo.host.exec('ss', ['-Htln', 'sport = 179'], { allowFail: true })), 20_000, 100)
        .catch((err: unknown) => Promise.reject(new Error(`${String(err)}\n${exabgp.text().slice(-3000)}`)));
      startHostRadvd(topo.host, daemon.dir);
      peer = new Frr(topo.peer, daemon.dir, 'peer-frr');
      peer.startZebra(peerZebraConf(['p0']));
      peer.startBgpd(peerBgpdConf(['p0']));
      await waitFor('routes from ExaBGP in our table', () => has(PEER_ADDR) && has('10.99.2.0/24'), 60_000, 200)
        .catch((err: unknown) => Promise.reject(new Error(`${String(err)}\n${why()}`)));
    } catch (err) {
      exabgp?.stop();
      topo.destroy();
      throw err;
    }
  }, 90_000);

  afterAll(async () => {
    exabgp?.stop();
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    topo?.destroy();
  });

  it('installs the placeholder form with the peer MAC in table 1000, and a ping crosses through it', async () => {
    const r = ours().find((x) => x.dst === PEER_ADDR)!;
    expect(r).toMatchObject({ gateway: '169.254.0.1', dev: 'h0' });
    expect(r.flags).toContain('onlink');
    const n = topo.host.json<NeighJson>('neigh', 'show', 'dev', 'h0').find((x) => x.dst === '169.254.0.1');
    expect(n).toMatchObject({ lladdr: PEER_MAC });
    expect(n!.state).toContain('PERMANENT');
    expect(topo.host.ip('route', 'get', PEER_ADDR)).toMatch(new RegExp(`table ${TABLE}`));
    await waitFor('ping through our table', () => topo.host.ping(PEER_ADDR, 1), 20_000, 500);
    // the 32-byte next hop arrived as one next hop, not two
    expect(daemon.cli('routes', '--json')).toContain(PEER_LL);
  });

  it('announce and withdraw on FRR reach our table', async () => {
    peer.vtysh('conf t', 'router bgp 65001', 'address-family ipv4 unicast', 'network 10.99.3.0/24');
    await waitFor('announced', () => has('10.99.3.0/24'), 30_000, 50).catch((err: unknown) => Promise.reject(new Error(`${String(err)}\n${why()}`)));
    peer.vtysh('conf t', 'router bgp 65001', 'address-family ipv4 unicast', 'no network 10.99.3.0/24');
    await waitFor('withdrawn', () => !has('10.99.3.0/24'), 30_000, 50);
    expect(has(PEER_ADDR)).toBe(true);
  });

  it('a session drop (neighbor shutdown on FRR) withdraws the neighbour\'s routes; the session back brings them back', async () => {
    peer.vtysh('conf t', 'router bgp 65001', 'neighbor p0 shutdown');
    await waitFor('all withdrawn', () => ours().length === 0, 30_000, 100).catch((err: unknown) => Promise.reject(new Error(`${String(err)}\n${why()}`)));
    expect(exabgp.text()).toMatch(/rfc5549d exabgp: neighbour fe80::ff:fe00:101 down .*withdrawing its 2 prefixes/);
    expect(topo.host.ping(PEER_ADDR, 1)).toBe(false);
    peer.vtysh('conf t', 'router bgp 65001', 'no neighbor p0 shutdown');
    await waitFor('back', () => has(PEER_ADDR) && has('10.99.2.0/24'), 60_000, 200);
    await waitFor('ping again', () => topo.host.ping(PEER_ADDR, 1), 20_000, 500);
  });

  it('the daemon restarted: the bridge reconnects and replays; what went meanwhile is swept at once', async () => {
    const logFrom = daemon.logs().length;
    await daemon.stop('SIGTERM'); // routes stay in the kernel
    await waitFor('the bridge noticed', () => exabgp.text().includes('the daemon went away'), 10_000);
    peer.vtysh('conf t', 'router bgp 65001', 'address-family ipv4 unicast', 'no network 10.99.2.0/24');
    await sleep(1500); // FRR's withdraw reaches ExaBGP and the bridge while no daemon listens
    expect(has('10.99.2.0/24')).toBe(true); // nobody removed it from the kernel yet
    await daemon.start();
    // the replay's sync-end ends the start-up grace at once, not graceful.stale-time (60 s) later
    await waitFor('sweep allowed by the replay', () => daemon.logs().slice(logFrom).find((l) => l.event === 'sweepAllowed'), 20_000, 100);
    expect(String(daemon.logs().slice(logFrom).find((l) => l.event === 'sweepAllowed')!.why)).toMatch(/every source replayed \(last: jsonl/);
    await waitFor('swept', () => !has('10.99.2.0/24'), 20_000, 100);
    expect(has(PEER_ADDR)).toBe(true);
    expect(exabgp.text()).toMatch(/connected to .*routes\.sock, replaying 1 routes/);
    peer.vtysh('conf t', 'router bgp 65001', 'address-family ipv4 unicast', 'network 10.99.2.0/24');
    await waitFor('re-announced', () => has('10.99.2.0/24'), 30_000, 100);
  });

  const cmdlines = () => topo.host.pids().map((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      return '';
    }
  });
  // the worktree's path may hold "exabgp" too: match the programs, not the word
  const exabgpProcesses = () => cmdlines().filter((c) => /\/usr\/sbin\/exabgp |main\.js exabgp /.test(c));

  it('ExaBGP stopped (SIGTERM): its neighbour-down messages withdraw everything, and the bridge exits', async () => {
    expect(ours().length).toBeGreaterThanOrEqual(2);
    exabgp.stop('SIGTERM');
    await waitFor('all withdrawn', () => ours().length === 0, 20_000, 100).catch((err: unknown) => Promise.reject(new Error(`${String(err)}\n${why()}`)));
    await waitFor('ExaBGP and the bridge gone', () => !exabgp.running && exabgpProcesses().length === 0, 10_000, 100)
      .catch((err: unknown) => Promise.reject(new Error(`${String(err)}: ${JSON.stringify(cmdlines())}`)));
    // ExaBGP 4.2 on SIGTERM: state "down" per neighbour ("stop, message (shutting down)"), then
    // SIGTERM to its processes
    expect(exabgp.text()).toMatch(/rfc5549d exabgp: neighbour fe80::ff:fe00:101 down \(stop[^\n]*withdrawing its 2 prefixes\n(.*\n)*rfc5549d exabgp: (SIGTERM|ExaBGP closed our input); withdrew 0 prefixes/);
  });

  it('ExaBGP killed (SIGKILL: it says nothing): the bridge\'s input closes and it withdraws everything itself', async () => {
    exabgp.start(daemon.socket);
    await waitFor('routes back through a new ExaBGP', () => has(PEER_ADDR) && has('10.99.2.0/24'), 60_000, 200)
      .catch((err: unknown) => Promise.reject(new Error(`${String(err)}\n${why()}`)));
    exabgp.stop('SIGKILL');
    await waitFor('all withdrawn', () => ours().length === 0, 20_000, 100).catch((err: unknown) => Promise.reject(new Error(`${String(err)}\n${why()}`)));
    expect(exabgp.text()).toMatch(/rfc5549d exabgp: ExaBGP closed our input; withdrew 2 prefixes/);
    await waitFor('the bridge gone', () => exabgpProcesses().length === 0, 10_000, 100)
      .catch((err: unknown) => Promise.reject(new Error(`${String(err)}: ${JSON.stringify(cmdlines())}`)));
  });
});
