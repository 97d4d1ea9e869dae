// Throwaway network namespaces for kernel tests: a "host" where rfc5549d runs and a
// "peer" holding 10.99.1.1/32 on lo, joined by a veth pair h0 <-> p0. Never the root
// namespace. Every namespace made here is deleted in destroy(), even when a test fails.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

let counter = 0;

export const PEER_MAC = '02:00:00:00:01:01';
export const HOST_MAC = '02:00:00:00:02:01';
export const PEER_LL = 'fe80::ff:fe00:101';
export const PEER_ADDR = '10.99.1.1';
const HOST_ADDR = '10.99.0.2';
/**
 * The embedded default kernel.protocol and kernel.table as `ip` takes them, for tests that
 * run on the defaults (new tests set both explicitly where their assertions depend on them).
 */
export const OUR_PROTOCOL = '200';
export const OUR_TABLE = '5549';
/** how `ip -j` names our protocol: the number, or the name where rt_protos.d/rfc5549d.conf is installed */
export const isOurProtocol = (p: string | undefined): boolean => p === OUR_PROTOCOL || p === 'rfc5549d';

export function sh(cmd: string, args: string[], opts: { allowFail?: boolean; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, maxBuffer: 512 << 20 });
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ').slice(0, 200)} exited ${r.status}: ${(r.stderr || r.stdout || String(r.error)).slice(0, 500)}`);
  }
  return r.stdout;
}

/** Why kernel tests cannot run here, or undefined when they can. */
export function kernelTestsBlocked(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = `r5probe-${process.pid}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `ip netns add failed: ${r.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

/**
 * Says loudly when a kernel suite cannot run. Under CI a blocked suite fails instead:
 * a skipped kernel test must never pass for a green run.
 */
export function kernelSuiteEnabled(suite: string): boolean {
  const why = kernelTestsBlocked();
  if (!why) return true;
  const msg = `\n=== ${suite}: KERNEL TESTS NOT RUN (${why}). Run npm test as root to run them. ===\n`;
  if (process.env.CI) throw new Error(msg);
  console.warn(msg);
  return false;
}

export function missingCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0;
}

/**
 * kernelSuiteEnabled for a suite that also runs programs from Debian packages (command ->
 * package): says loudly which are missing and that the suite did not run; under CI a missing
 * one fails instead, as .ci/run installs them.
 */
export function suiteEnabled(suite: string, needs: Readonly<Record<string, string>>): boolean {
  if (!kernelSuiteEnabled(suite)) return false;
  const missing = Object.keys(needs).filter((cmd) => missingCommand(cmd));
  if (missing.length === 0) return true;
  const packages = [...new Set(missing.map((cmd) => needs[cmd]))].join(' ');
  const msg = `\n=== ${suite}: ${missing.join(', ')} missing: TESTS NOT RUN (apt-get install ${packages}; .ci/run does) ===\n`;
  if (process.env.CI) throw new Error(msg);
  console.warn(msg);
  return false;
}

export class Netns {
  constructor(readonly name: string) {}

  ip(...args: string[]): string {
    return sh('ip', ['-n', this.name, ...args]);
  }

  json<T = Record<string, unknown>>(...args: string[]): T[] {
    const out = sh('ip', ['-j', '-n', this.name, ...args]).trim();
    return out ? (JSON.parse(out) as T[]) : [];
  }

  exec(cmd: string, args: string[], opts: { allowFail?: boolean } = {}): string {
    return sh('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  /** True when a ping crosses (one echo, 1 s wait, up to `tries` attempts). */
  ping(addr: string, tries = 3): boolean {
    for (let i = 0; i < tries; i++) {
      const r = spawnSync('ip', ['netns', 'exec', this.name, 'ping', '-c', '1', '-W', '1', addr]);
      if (r.status === 0) return true;
    }
    return false;
  }

  pids(): number[] {
    return sh('ip', ['netns', 'pids', this.name], { allowFail: true }).split(/\s+/).filter(Boolean).map(Number);
  }
}

export interface TopologyOptions {
  /** peer p0 gets a random (non-EUI-64) link-local */
  readonly randomLinkLocal?: boolean;
  /** a second link h1 <-> p1 (ECMP) */
  readonly secondLink?: boolean;
  /** no hand-made way back from the peer (FRR on the peer routes it instead) */
  readonly noReturnPath?: boolean;
}

export class Topology {
  readonly host: Netns;
  readonly peer: Netns;
  private destroyed = false;

  private constructor(id: string) {
    this.host = new Netns(`r5-${id}-host`);
    this.peer = new Netns(`r5-${id}-peer`);
  }

  static create(opts: TopologyOptions = {}): Topology {
    const t = new Topology(`${process.pid}-${++counter}`);
    try {
      t.build(opts);
    } catch (err) {
      t.destroy();
      throw err;
    }
    return t;
  }

  private build(opts: TopologyOptions): void {
    const { host, peer } = this;
    sh('ip', ['netns', 'add', host.name]);
    sh('ip', ['netns', 'add', peer.name]);
    sh('ip', ['link', 'add', 'h0', 'netns', host.name, 'address', HOST_MAC, 'type', 'veth', 'peer', 'name', 'p0', 'netns', peer.name, 'address', PEER_MAC]);
    for (const ns of [host, peer]) ns.ip('link', 'set', 'lo', 'up');
    peer.exec('sysctl', ['-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.p0.accept_dad=0']);
    host.exec('sysctl', ['-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv6.conf.h0.accept_dad=0', 'net.ipv6.conf.h0.accept_ra=0']);
    peer.ip('addr', 'add', `${PEER_ADDR}/32`, 'dev', 'lo');
    host.ip('addr', 'add', `${HOST_ADDR}/32`, 'dev', 'lo');
    if (opts.secondLink) {
      sh('ip', ['link', 'add', 'h1', 'netns', host.name, 'address', '02:00:00:00:02:02', 'type', 'veth', 'peer', 'name', 'p1', 'netns', peer.name, 'address', '02:00:00:00:01:02']);
      peer.exec('sysctl', ['-qw', 'net.ipv6.conf.p1.accept_dad=0']);
      host.exec('sysctl', ['-qw', 'net.ipv6.conf.h1.accept_dad=0', 'net.ipv6.conf.h1.accept_ra=0']);
      peer.ip('link', 'set', 'p1', 'up');
      host.ip('link', 'set', 'h1', 'up');
    }
    if (opts.randomLinkLocal) peer.ip('link', 'set', 'p0', 'addrgenmode', 'random');
    peer.ip('link', 'set', 'p0', 'up');
    host.ip('link', 'set', 'h0', 'up');
    if (!opts.noReturnPath) this.restorePeerReturnPath();
  }

  /** The way back, the same trick by hand: peer -> host address via the host's MAC. Admin
   * down of p0 deletes it, so tests that flap p0 call this again. */
  restorePeerReturnPath(hostMac = HOST_MAC): void {
    this.peer.ip('neigh', 'replace', '169.254.0.1', 'lladdr', hostMac, 'dev', 'p0', 'nud', 'permanent');
    this.peer.ip('route', 'replace', `${HOST_ADDR}/32`, 'via', '169.254.0.1', 'dev', 'p0', 'onlink');
  }

  /** The peer's link-local on p0, once the kernel has made it. */
  peerLinkLocal(): string {
    for (let i = 0; i < 50; i++) {
      const addrs = this.peer.json<{ addr_info: { family: string; local: string; scope: string }[] }>('addr', 'show', 'dev', 'p0');
      const ll = addrs[0]?.addr_info.find((a) => a.family === 'inet6' && a.scope === 'link');
      if (ll) return ll.local;
      execFileSync('sleep', ['0.1']);
    }
    throw new Error('peer p0 has no link-local');
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    destroyNamespaces([this.host, this.peer]);
  }
}

/** Kills what runs in each namespace, then deletes it. */
function destroyNamespaces(list: readonly Netns[]): void {
  for (const ns of list) {
    for (const pid of ns.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    spawnSync('ip', ['netns', 'del', ns.name]);
  }
}

export interface SegmentPeer {
  readonly ns: Netns;
  readonly mac: string;
  /** EUI-64 from the MAC */
  readonly linkLocal: string;
  /** on the peer's lo */
  readonly addr: string;
}

/**
 * A shared segment: the host's h0 and two peers' e0 on a Linux bridge in a "switch"
 * namespace. Each peer holds its own address on lo and routes back to the host by hand.
 */
export class SharedSegment {
  readonly host: Netns;
  readonly switch: Netns;
  readonly peers: readonly SegmentPeer[];
  private destroyed = false;

  private constructor(id: string) {
    this.host = new Netns(`r5-${id}-host`);
    this.switch = new Netns(`r5-${id}-sw`);
    this.peers = [
      { ns: new Netns(`r5-${id}-pa`), mac: '02:00:00:00:01:01', linkLocal: 'fe80::ff:fe00:101', addr: '10.99.1.1' },
      { ns: new Netns(`r5-${id}-pb`), mac: '02:00:00:00:03:01', linkLocal: 'fe80::ff:fe00:301', addr: '10.99.3.1' },
    ];
  }

  static create(): SharedSegment {
    const t = new SharedSegment(`${process.pid}-${++counter}`);
    try {
      t.build();
    } catch (err) {
      t.destroy();
      throw err;
    }
    return t;
  }

  private build(): void {
    const { host, peers } = this;
    const sw = this.switch;
    for (const ns of [host, sw, ...peers.map((p) => p.ns)]) {
      sh('ip', ['netns', 'add', ns.name]);
      ns.ip('link', 'set', 'lo', 'up');
      ns.exec('sysctl', ['-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    }
    sw.ip('link', 'add', 'br0', 'type', 'bridge');
    sw.ip('link', 'set', 'br0', 'up');
    sh('ip', ['link', 'add', 'h0', 'netns', host.name, 'address', HOST_MAC, 'type', 'veth', 'peer', 'name', 'sh0', 'netns', sw.name]);
    peers.forEach((p, i) => sh('ip', ['link', 'add', 'e0', 'netns', p.ns.name, 'address', p.mac, 'type', 'veth', 'peer', 'name', `sp${i}`, 'netns', sw.name]));
    for (const port of ['sh0', ...peers.map((_, i) => `sp${i}`)]) {
      sw.ip('link', 'set', port, 'master', 'br0');
      sw.ip('link', 'set', port, 'up');
    }
    host.exec('sysctl', ['-qw', 'net.ipv6.conf.h0.accept_ra=0']);
    host.ip('addr', 'add', `${HOST_ADDR}/32`, 'dev', 'lo');
    host.ip('link', 'set', 'h0', 'up');
    for (const p of peers) {
      p.ns.ip('addr', 'add', `${p.addr}/32`, 'dev', 'lo');
      p.ns.ip('link', 'set', 'e0', 'up');
      p.ns.ip('neigh', 'replace', '169.254.0.1', 'lladdr', HOST_MAC, 'dev', 'e0', 'nud', 'permanent');
      p.ns.ip('route', 'replace', `${HOST_ADDR}/32`, 'via', '169.254.0.1', 'dev', 'e0', 'onlink');
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    destroyNamespaces([this.host, this.switch, ...this.peers.map((p) => p.ns)]);
  }
}

/** `ip monitor route neigh` in a namespace: what the kernel was told while it ran. */
export function monitorKernel(ns: Netns): { text(): string; stop(): void } {
  const child = spawn('ip', ['-n', ns.name, 'monitor', 'route', 'neigh']);
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  return { text: () => text, stop: () => child.kill() };
}

/**
 * `ip monitor all` in a namespace, returned once it is proven to listen: the lines of the
 * kinds asked for ([ROUTE], [NEIGH], [RULE], [NEXTHOP], ...) heard since.
 */
export async function monitorAll(ns: Netns): Promise<{ lines(...kinds: string[]): string[]; stop(): void }> {
  const child = spawn('ip', ['-n', ns.name, 'monitor', 'all']);
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  // a route in a table nobody reads, made until the monitor has heard it, then deleted
  await waitFor('ip monitor listening', () => {
    ns.ip('route', 'replace', 'blackhole', '10.255.255.0/24', 'table', '4242');
    return text.includes('10.255.255.0/24');
  }, 10_000, 100);
  ns.ip('route', 'del', 'blackhole', '10.255.255.0/24', 'table', '4242');
  await waitFor('ip monitor heard the delete', () => text.includes('Deleted blackhole 10.255.255.0/24'));
  const from = text.length;
  return {
    lines: (...kinds) => text.slice(from).split('\n').filter((l) => kinds.some((k) => l.startsWith(`[${k}]`))),
    stop: () => child.kill(),
  };
}

export async function waitFor<T>(what: string, fn: () => T | undefined | null | false, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last instanceof Error ? String(last) : JSON.stringify(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs radvd on the peer's p0 (RAs every 3-4 s, router lifetime 0, source MAC option). */
export function startRadvd(topo: Topology, dir: string): void {
  const conf = `${dir}/radvd.conf`;
  writeFileSync(conf, 'interface p0 {\n  AdvSendAdvert on;\n  MinRtrAdvInterval 3;\n  MaxRtrAdvInterval 4;\n  AdvDefaultLifetime 0;\n  AdvSourceLLAddress on;\n};\n');
  topo.peer.exec('sysctl', ['-qw', 'net.ipv6.conf.all.forwarding=1']); // radvd refuses to run without it
  const child = spawn('ip', ['netns', 'exec', topo.peer.name, 'radvd', '-n', '-C', conf, '-p', `${dir}/radvd.pid`, '-m', 'stderr'], { stdio: 'ignore', detached: false });
  child.unref();
}
