// What a kernel holds of ours, read through the port's dumps: the two sides `rfc5549d plan`
// compares (the real kernel, read only, and the dry run's fake after the daemon's passes).
import type { KernelPort } from '../kernel/kernel.js';
import { AF_INET, type KernelLink, type KernelNeighbour, type KernelRoute, type KernelRule, type NexthopObject } from '../kernel/rtnetlink-codec.js';

/** Objects of our protocol (routes and throws in every table, placeholder neighbours, our rules and nexthop objects), and the links to name them. */
export interface KernelPicture {
  readonly links: readonly Pick<KernelLink, 'ifindex' | 'name'>[];
  readonly routes: readonly KernelRoute[];
  readonly neighbours: readonly KernelNeighbour[];
  readonly rules: readonly KernelRule[];
  readonly nexthops: readonly NexthopObject[];
}

type PictureReader = Pick<KernelPort, 'dumpLinks' | 'dumpNeighbours' | 'dumpRoutes' | 'dumpNexthops' | 'dumpRules'>;

/** 169.254.0.0/16: where every placeholder gateway lies, whatever kernel.gateway-pool says */
const isLinkLocalV4 = (dst: Buffer): boolean => dst.length === 4 && dst[0] === 169 && dst[1] === 254;

export async function takePicture(k: PictureReader, protocol: number): Promise<KernelPicture> {
  const routes: KernelRoute[] = [];
  await k.dumpRoutes(protocol, { begin: () => (routes.length = 0), route: (_, decode) => void routes.push(decode()) });
  const links = (await k.dumpLinks()).map((l) => ({ ifindex: l.ifindex, name: l.name }));
  const neighbours = (await k.dumpNeighbours()).filter((n) => n.family === AF_INET && n.protocol === protocol && isLinkLocalV4(n.dst));
  const rules = (await k.dumpRules()).filter((r) => r.family === AF_INET && r.protocol === protocol);
  const nexthops = (await k.dumpNexthops().catch(() => [])).filter((nh) => nh.protocol === protocol);
  return { links, routes, neighbours, rules, nexthops };
}
