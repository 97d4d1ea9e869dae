// Real FRR (Debian's frr package) in a test namespace: zebra + bgpd with their own vty
// sockets and pid files in a throwaway directory.
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, type Netns } from './netns.js';

const FRR = '/usr/lib/frr';

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
