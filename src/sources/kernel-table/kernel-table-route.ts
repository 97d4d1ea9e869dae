// A route another speaker wrote into a source table (BIRD's `kernel table 100`, a static
// `ip route add … via inet6 fe80::… dev eth1 table 100`), reduced to our next hops, or the
// reason it is not ours to take. Pure.
import { RTN_UNICAST, type KernelRoute, type RouteLeg } from '../../kernel/rtnetlink-codec.js';
import { isLinkLocalBytes, linkLocalFromBytes } from '../../model/link-local.js';
import { isOurs } from '../../model/ownership.js';
import { sortNexthops, type PeerNexthop } from '../../rib/route.js';

/** Why a route in a source table is not taken; each is counted in `status`. */
export type KernelTableIgnoreReason =
  /** local, broadcast, blackhole, unreachable, prohibit, throw … */
  | 'not-unicast'
  /** one of ours (a JSON line naming the source table): taking it would feed us our own writes */
  | 'own-protocol'
  /** by nexthop object (RTA_NH_ID); BIRD and `ip route add … via inet6` do not write these */
  | 'nexthop-object'
  /** a leg with an IPv4 gateway, a global IPv6 one, or none (a connected route) */
  | 'not-link-local-via'
  /** a leg out of an interface the daemon has not seen (yet); the next dump looks again */
  | 'unknown-interface';

export const KERNEL_TABLE_IGNORE_REASONS: readonly KernelTableIgnoreReason[] = [
  'not-unicast', 'own-protocol', 'nexthop-object', 'not-link-local-via', 'unknown-interface',
];

export type KernelTableVerdict =
  | { readonly ok: true; readonly nexthops: readonly PeerNexthop[] }
  | { readonly ok: false; readonly reason: KernelTableIgnoreReason };

export interface KernelTableContext {
  /** kernel.protocol: routes of ours are never taken */
  readonly ownProtocol: number;
  readonly ifname: (ifindex: number) => string | undefined;
}

function legNexthop(leg: RouteLeg, ifname: (ifindex: number) => string | undefined): PeerNexthop | KernelTableIgnoreReason {
  if (!leg.via6 || !isLinkLocalBytes(leg.via6) || leg.gateway !== undefined) return 'not-link-local-via';
  const name = ifname(leg.ifindex);
  if (name === undefined) return 'unknown-interface';
  return { interface: name, linkLocal: linkLocalFromBytes(leg.via6) };
}

/**
 * Every leg must be `via inet6 fe80::… dev IF`: a multipath route with one IPv4 leg is not
 * taken in part, since installing fewer legs would forward differently from what was written.
 */
export function kernelTableVerdict(r: KernelRoute, ctx: KernelTableContext): KernelTableVerdict {
  if (r.type !== RTN_UNICAST) return { ok: false, reason: 'not-unicast' };
  if (isOurs(r, ctx.ownProtocol)) return { ok: false, reason: 'own-protocol' };
  if (r.nhId !== undefined) return { ok: false, reason: 'nexthop-object' };
  if (r.legs.length === 0) return { ok: false, reason: 'not-link-local-via' };
  const nexthops: PeerNexthop[] = [];
  for (const leg of r.legs) {
    const nh = legNexthop(leg, ctx.ifname);
    if (typeof nh === 'string') return { ok: false, reason: nh };
    // the same leg twice (two rtnexthops to one peer) is one next hop for us
    if (!nexthops.some((n) => n.interface === nh.interface && n.linkLocal === nh.linkLocal)) nexthops.push(nh);
  }
  return { ok: true, nexthops: sortNexthops(nexthops) };
}
