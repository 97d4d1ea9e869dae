// GoBGP path -> the route we install, or the reason we cannot. Pure: the peers come in as an
// index, the table as a number. GoBGP (before v4.7) hands a link-local next hop around
// without its interface, so the interface is the one of the neighbour the path came from:
// its `neighbor-interface`, or the zone of a `fe80::…%if` neighbour address.
//
// Next-hop encodings GoBGP shows in MpReachNLRI.next_hops for an IPv4 path with an IPv6 next
// hop (RFC 8950 / RFC 2545): [LL] (16 bytes), [global, LL] and [::, LL] (32 bytes; FRR sends
// its link-local twice over an unnumbered link, or :: first). The link-local is the one on
// our link, so it is taken wherever it stands; a global alone is no use to us.
import { parseInterfaceName } from '../../model/interface-name.js';
import { parseIpv4Prefix, type Ipv4Prefix } from '../../model/ipv4-prefix.js';
import { parseLinkLocal, type LinkLocal } from '../../model/link-local.js';
import type { DesiredRoute } from '../../rib/route.js';

export interface GobgpPath {
  readonly afi: number;
  readonly safi: number;
  /** a.b.c.d/len from an IPAddressPrefix NLRI, undefined for other NLRI types */
  readonly prefix: string | undefined;
  readonly nlriType: string;
  /** MpReachNLRI.next_hops, or the NEXT_HOP attribute alone */
  readonly nextHops: readonly string[];
  /** the neighbour it came from, without zone; "<nil>" or empty for a local path */
  readonly neighborIp: string;
  readonly best: boolean;
  readonly withdraw: boolean;
}

export interface GobgpPeer {
  /** as gobgpd shows it: "fe80::1%h0", "fe80::1", "192.0.2.1" */
  readonly address: string;
  readonly interface: string | undefined;
  readonly established: boolean;
}

export type GobgpPeerEventType = 'unknown' | 'init' | 'end-of-init' | 'state';

/** Why a path is not installed; counted per reason in `status`. */
export type UnusableReason =
  | 'not-ipv4-unicast'
  | 'bad-prefix'
  | 'no-nexthop'
  | 'ipv4-nexthop'
  | 'no-link-local-nexthop'
  | 'local-path'
  | 'unknown-neighbor'
  | 'ambiguous-neighbor'
  | 'no-interface';

export const UNUSABLE_REASONS: readonly UnusableReason[] = [
  'not-ipv4-unicast', 'bad-prefix', 'no-nexthop', 'ipv4-nexthop', 'no-link-local-nexthop', 'local-path', 'unknown-neighbor', 'ambiguous-neighbor', 'no-interface',
];

export type PathVerdict =
  | { readonly ok: true; readonly prefix: Ipv4Prefix; readonly neighbor: string; readonly route: DesiredRoute }
  | { readonly ok: false; readonly reason: UnusableReason; readonly detail: string; readonly prefix?: Ipv4Prefix };

/** Peers by their address without zone (what Path.neighbor_ip carries), each with its interface. */
export class PeerIndex {
  private readonly byAddress = new Map<string, GobgpPeer[]>();

  /** Adds or updates a peer; returns whether it was ESTABLISHED before (false when new). */
  set(peer: GobgpPeer): boolean {
    const key = neighborKey(peer.address);
    if (!key || LOCAL_NEIGHBOR.has(key)) return false;
    const zoned = withInterface(peer);
    // the same address on another interface is another peer; anything else is this one again
    const other = (p: GobgpPeer) => p.interface !== undefined && zoned.interface !== undefined && p.interface !== zoned.interface;
    const before = this.byAddress.get(key) ?? [];
    const was = before.some((p) => !other(p) && p.established);
    const list = before.filter(other);
    // a peer event names the interface but not the zone; keep what ListPeer told
    list.push(zoned.interface === undefined ? { ...zoned, interface: before.find((p) => !other(p))?.interface } : zoned);
    this.byAddress.set(key, list);
    return was;
  }

  get(address: string): readonly GobgpPeer[] {
    return this.byAddress.get(neighborKey(address)) ?? [];
  }

  clear(): void {
    this.byAddress.clear();
  }

  get size(): number {
    return this.byAddress.size;
  }
}

/** The zone (interface) of a "fe80::…%if" address, if any. */
function zoneOf(address: string): string | undefined {
  const i = address.indexOf('%');
  return i < 0 ? undefined : address.slice(i + 1);
}

function withInterface(p: GobgpPeer): GobgpPeer {
  return p.interface ? p : { ...p, interface: zoneOf(p.address) };
}

/** An address without zone, link-locals in canonical form, so "FE80::1%h0" and "fe80::1" meet. */
export function neighborKey(address: string): string {
  const bare = address.split('%')[0]!.trim().toLowerCase();
  const ll = parseLinkLocal(bare);
  return ll.ok ? ll.value : bare;
}

const LOCAL_NEIGHBOR = new Set(['', '<nil>', '0.0.0.0', '::']);
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const excerpt = (s: string): string => JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);

/** The link-local among the next hops, wherever it stands ([LL], [global, LL], [::, LL]). */
export function linkLocalNexthop(nextHops: readonly string[]): { ll: LinkLocal } | { reason: UnusableReason; detail: string } {
  if (nextHops.length === 0) return { reason: 'no-nexthop', detail: 'the path has no next hop' };
  for (const nh of [...nextHops.slice(0, 2)].reverse()) {
    const ll = parseLinkLocal(nh.split('%')[0]!);
    if (ll.ok) return { ll: ll.value };
  }
  if (IPV4.test(nextHops[0]!)) return { reason: 'ipv4-nexthop', detail: `next hop ${excerpt(nextHops[0]!)} is IPv4, not an IPv6 link-local` };
  return { reason: 'no-link-local-nexthop', detail: `next hops ${excerpt(nextHops.join(', '))} hold no IPv6 link-local` };
}

/** Translates one path (announce; withdrawals are the caller's) into the route for `table`. */
export function translatePath(path: GobgpPath, peers: PeerIndex, table: number): PathVerdict {
  if (path.afi !== 1 || path.safi !== 1 || path.prefix === undefined) {
    return { ok: false, reason: 'not-ipv4-unicast', detail: `family ${path.afi}/${path.safi}, NLRI ${excerpt(path.nlriType)}` };
  }
  const p = parseIpv4Prefix(path.prefix);
  if (!p.ok) return { ok: false, reason: 'bad-prefix', detail: `prefix: ${p.error}` };
  const prefix = p.value;
  const nh = linkLocalNexthop(path.nextHops);
  if ('reason' in nh) return { ok: false, reason: nh.reason, detail: nh.detail, prefix };
  if (LOCAL_NEIGHBOR.has(path.neighborIp)) return { ok: false, reason: 'local-path', detail: 'a path gobgpd originated itself has no neighbour to forward to', prefix };
  const found = peers.get(path.neighborIp);
  if (found.length === 0) return { ok: false, reason: 'unknown-neighbor', detail: `neighbour ${excerpt(path.neighborIp)} is not among gobgpd's peers`, prefix };
  if (found.length > 1) return { ok: false, reason: 'ambiguous-neighbor', detail: `neighbour ${excerpt(path.neighborIp)} is a peer on ${found.length} interfaces`, prefix };
  const ifname = found[0]!.interface;
  if (ifname === undefined) return { ok: false, reason: 'no-interface', detail: `neighbour ${excerpt(path.neighborIp)} has no neighbor-interface and no %zone in its address`, prefix };
  const name = parseInterfaceName(ifname);
  if (!name.ok) return { ok: false, reason: 'no-interface', detail: `neighbour ${excerpt(path.neighborIp)}: ${name.error}`, prefix };
  return { ok: true, prefix, neighbor: neighborKey(path.neighborIp), route: { table, prefix, nexthops: [{ interface: name.value, linkLocal: nh.ll }] } };
}
