// Real FRR (Debian's frr package) in a test namespace: zebra + bgpd with their own vty
// sockets and pid files in a throwaway directory.
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sh, sleep, type Netns } from './netns.js';

const FRR = '/usr/lib/frr';
// the project root, from test/helpers (vitest) or dist/test/helpers (the pipeline bench)
const ROOT = resolve(import.meta.dirname, /[/\\]dist[/\\]test[/\\]/.test(import.meta.dirname) ? '../../..' : '../..');

/**
 * One of the FRR configurations docs/operations.md quotes (docs/frr/), as written, with only
 * the interface names it uses (swp1, swp2) replaced by the test's.
 */
export function docsFrrConf(file: string, ifaces: Record<string, string>): string {
  let text = readFileSync(join(ROOT, 'docs/frr', file), 'utf8');
  for (const [from, to] of Object.entries(ifaces)) text = text.replace(new RegExp(`\\b${from}\\b`, 'g'), to);
  return text;
}

/** zebra's options from docs/frr/daemons (zebra_options="..."), split into arguments. */
export function docsZebraOptions(): string[] {
  const m = /^zebra_options="([^"]*)"/m.exec(readFileSync(join(ROOT, 'docs/frr/daemons'), 'utf8'));
  if (!m) throw new Error('docs/frr/daemons has no zebra_options line');
  // -A (vty address) and -s (netlink buffer) do not matter here; -P 0 below turns the vty off
  const args = m[1]!.trim().split(/\s+/);
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-A') i++;
    else out.push(args[i]!);
  }
  return out;
}

/** Whether a process runs (a zombie no longer does; a daemonised FRR is reaped lazily). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export class Frr {
  readonly dir: string;

  constructor(private readonly ns: Netns, parent: string, readonly name: string) {
    this.dir = join(parent, name);
    chmodSync(parent, 0o755); // FRR drops to user frr and must reach its own directory
    mkdirSync(this.dir, { recursive: true });
    const frr = sh('id', ['-u', 'frr']).trim();
    const gid = sh('id', ['-g', 'frr']).trim();
    chownSync(this.dir, Number(frr), Number(gid));
  }

  startZebra(conf: string, ...args: string[]): void {
    writeFileSync(join(this.dir, 'zebra.conf'), conf);
    this.ns.exec(`${FRR}/zebra`, ['-d', ...args, '-f', join(this.dir, 'zebra.conf'), '-i', join(this.dir, 'zebra.pid'), '-z', join(this.dir, 'zserv.api'),
      '--vty_socket', this.dir, '-P', '0', '--log', `file:${join(this.dir, 'zebra.log')}`]);
  }

  startBgpd(conf: string): void {
    writeFileSync(join(this.dir, 'bgpd.conf'), conf);
    this.ns.exec(`${FRR}/bgpd`, ['-d', '-f', join(this.dir, 'bgpd.conf'), '-i', join(this.dir, 'bgpd.pid'), '-z', join(this.dir, 'zserv.api'),
      '--vty_socket', this.dir, '-P', '0', '--log', `file:${join(this.dir, 'bgpd.log')}`]);
  }

  /**
   * FRR started the way frrinit.sh (systemctl start frr) does it with the integrated config:
   * zebra, then bgpd, each with no configuration of its own, then `vtysh -b` applies frr.conf.
   */
  startIntegrated(frrConf: string, zebraArgs: readonly string[]): void {
    writeFileSync(join(this.dir, 'frr.conf'), frrConf);
    writeFileSync(join(this.dir, 'vtysh.conf'), 'service integrated-vtysh-config\n');
    this.startZebra('', ...zebraArgs);
    this.startBgpd('');
    // -b reads frr.conf from --config_dir and sends each daemon its part
    sh('vtysh', ['--vty_socket', this.dir, '--config_dir', this.dir, '-b']);
  }

  /**
   * FRR stopped the way frrinit.sh (systemctl stop/restart frr) does it: SIGINT to bgpd and
   * wait until it is gone (polling every 0.1 s), then the same for zebra.
   */
  async stopLikeSystemd(): Promise<void> {
    for (const d of ['bgpd', 'zebra'] as const) {
      const pid = this.pid(d);
      process.kill(pid, 'SIGINT');
      for (let i = 0; alive(pid); i++) {
        if (i > 300) throw new Error(`${this.name} ${d} (pid ${pid}) still runs 30 s after SIGINT`);
        await sleep(100);
      }
    }
  }

  /** The tail of a daemon's log, for a failure message. */
  logTail(daemon: 'zebra' | 'bgpd', chars = 3000): string {
    try {
      return readFileSync(join(this.dir, `${daemon}.log`), 'utf8').slice(-chars);
    } catch {
      return '(no log)';
    }
  }

  pid(daemon: 'zebra' | 'bgpd'): number {
    return Number(sh('cat', [join(this.dir, `${daemon}.pid`)]).trim());
  }

  vtysh(...commands: string[]): string {
    return sh('vtysh', ['--vty_socket', this.dir, ...commands.flatMap((c) => ['-c', c])], { allowFail: true });
  }
}

export const peerZebraConf = (ifaces: string[]) => `hostname peer\n${ifaces.map((i) => `interface ${i}\n ipv6 nd ra-interval 3\n no ipv6 nd suppress-ra\nexit\n`).join('')}`;

export const peerBgpdConf = (ifaces: string[]) => `hostname peer
router bgp 65001
 bgp router-id 10.99.1.1
 no bgp ebgp-requires-policy
 no bgp network import-check
 timers bgp 3 9
${ifaces.map((i) => ` neighbor ${i} interface remote-as external\n neighbor ${i} capability extended-nexthop\n neighbor ${i} advertisement-interval 0\n neighbor ${i} timers connect 2\n`).join('')} address-family ipv4 unicast
  network 10.99.1.1/32
  network 10.99.2.0/24
${ifaces.map((i) => `  neighbor ${i} activate\n`).join('')} exit-address-family
exit
`;

export const hostZebraConf = (ifaces: string[], nhg: boolean) => `hostname host
fpm address 127.0.0.1 port 2620
${nhg ? '' : 'no fpm use-next-hop-groups\n'}${ifaces.map((i) => `interface ${i}\n ipv6 nd ra-interval 3\n no ipv6 nd suppress-ra\nexit\n`).join('')}`;

export const hostBgpdConf = (ifaces: string[]) => `hostname host
router bgp 65002
 bgp router-id 10.99.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 timers bgp 3 9
${ifaces.map((i) => ` neighbor ${i} interface remote-as external\n neighbor ${i} capability extended-nexthop\n neighbor ${i} advertisement-interval 0\n neighbor ${i} timers connect 2\n`).join('')} address-family ipv4 unicast
  network 10.99.0.2/32
  maximum-paths 4
${ifaces.map((i) => `  neighbor ${i} activate\n`).join('')} exit-address-family
exit
`;
