// zebra's FPM netlink messages, pure: every encoding zebra uses for an IPv4 route with an
// IPv6 next hop (FRR <= 10.5 RTA_GATEWAY 169.254.0.1 + ONLINK; FRR >= 10.6 RTA_VIA;
// RTA_MULTIPATH; nexthop objects + RTA_NH_ID), reduced to what the daemon needs.
import { MessageWalker, type NetlinkMessage } from '../../kernel/netlink-codec.js';
import {
  AF_INET, AF_INET6, decodeNexthopObject, decodeRoute, RTM_DELNEXTHOP, RTM_DELROUTE, RTM_NEWNEXTHOP, RTM_NEWROUTE,
  RTN_UNICAST, type RouteLeg,
} from '../../kernel/rtnetlink-codec.js';
import { makePrefix } from '../../model/ipv4-prefix.js';
import { isLinkLocalBytes, linkLocalFromBytes } from '../../model/link-local.js';
import { PLACEHOLDER_GATEWAY } from '../../model/placeholder.js';
import { NO_LEGS, type FpmItem, type FpmLeg } from './fpm-item.js';
import { decodeFpmRoute } from './fpm-route-decode.js';

export type { FpmItem, FpmLeg, IgnoreReason } from './fpm-item.js';

function legFromRoute(l: RouteLeg): FpmLeg | undefined {
  if (l.via6 && isLinkLocalBytes(l.via6)) return { ifindex: l.ifindex, linkLocal: linkLocalFromBytes(l.via6) };
  if (l.gateway === PLACEHOLDER_GATEWAY && l.ifindex > 0) return { ifindex: l.ifindex, linkLocal: undefined };
  return undefined;
}

/** One message: plain routes by the fast path (fpm-route-decode.ts), the rest the general way. */
export function decodeFpmMessage(m: NetlinkMessage): FpmItem {
  if (m.type === RTM_NEWROUTE || m.type === RTM_DELROUTE) {
    const fast = decodeFpmRoute(m);
    if (fast) return fast;
  }
  return decodeFpmMessageGeneral(m);
}

/** Every message zebra sends, the general way (multipath, nexthop objects, malformed input). */
export function decodeFpmMessageGeneral(m: NetlinkMessage): FpmItem {
  try {
    switch (m.type) {
      case RTM_NEWROUTE:
      case RTM_DELROUTE: {
        const r = decodeRoute(m);
        if (!r) return { kind: 'ignored', reason: 'ipv6-route' };
        const prefix = makePrefix(r.dst, r.dstLen);
        // zebra's deletes carry the protocol of the route they delete (captured: rtm_protocol 186)
        if (m.type === RTM_DELROUTE) return { kind: 'route-del', table: r.table, prefix, protocol: r.protocol };
        if (r.type !== RTN_UNICAST) return { kind: 'route-unusable', table: r.table, prefix, protocol: r.protocol, reason: 'not-unicast' };
        if (r.nhId !== undefined) return { kind: 'route-add', table: r.table, prefix, protocol: r.protocol, legs: NO_LEGS, nhId: r.nhId };
        const legs = r.legs.map(legFromRoute);
        if (legs.length === 0 || legs.some((l) => l === undefined)) return { kind: 'route-unusable', table: r.table, prefix, protocol: r.protocol, reason: 'no-ipv6-nexthop' };
        return { kind: 'route-add', table: r.table, prefix, protocol: r.protocol, legs: legs as FpmLeg[], nhId: undefined };
      }
      case RTM_NEWNEXTHOP: {
        const nh = decodeNexthopObject(m);
        if (nh.group) return { kind: 'nexthop-add', id: nh.id, legs: undefined, group: nh.group.map((g) => g.id) };
        // AF_INET6 with a link-local gateway, or AF_INET 169.254.0.1 onlink; an interface-only
        // nexthop (connected IPv6 routes) or a blackhole carries no peer: kept as unusable.
        let leg: FpmLeg | undefined;
        if (nh.family === AF_INET6 && nh.gateway && isLinkLocalBytes(nh.gateway) && nh.oif) leg = { ifindex: nh.oif, linkLocal: linkLocalFromBytes(nh.gateway) };
        else if (nh.family === AF_INET && nh.gateway?.readUInt32BE(0) === PLACEHOLDER_GATEWAY && nh.oif) leg = { ifindex: nh.oif, linkLocal: undefined };
        return { kind: 'nexthop-add', id: nh.id, legs: leg ? [leg] : undefined, group: undefined };
      }
      case RTM_DELNEXTHOP:
        return { kind: 'nexthop-del', id: decodeNexthopObject(m).id };
      default:
        return { kind: 'ignored', reason: 'message-type' };
    }
  } catch (err) {
    return { kind: 'malformed', error: (err as Error).message, bytes: m.buf.toString('hex', m.start - 16, m.end) };
  }
}

/** Decodes one frame's netlink messages; a malformed message is reported and skipped. */
export function decodeFpmFrame(payload: Buffer): FpmItem[] {
  const items: FpmItem[] = [];
  new FpmFrameDecoder((item) => items.push(item)).frame(payload, 0, payload.length);
  return items;
}

/**
 * A connection's frames to items, in order, without an array, a closure or a message object
 * per frame (zebra sends one message a frame: a million-route replay is a million frames).
 * decodeFpmMessage keeps nothing of the one message view it is handed.
 */
export class FpmFrameDecoder {
  private readonly walker = new MessageWalker();
  private readonly onMessage = (m: NetlinkMessage): void => this.onItem(decodeFpmMessage(m));

  constructor(private readonly onItem: (item: FpmItem) => void) {}

  /** the items of the frame payload in buf[start, end) */
  frame(buf: Buffer, start: number, end: number): void {
    const error = this.walker.walk(buf, this.onMessage, start, end);
    if (error) this.onItem({ kind: 'malformed', error, bytes: buf.toString('hex', start, end) });
  }
}
