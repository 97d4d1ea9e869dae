// zebra's route messages without multipath, the million-a-replay case, read in one pass over
// the attributes: no leg objects, no Buffer slices, no closure per attribute (decodeRoute's
// general path was most of the FPM decode cost). It answers exactly what decodeFpmMessage's
// general path answers (fpm-route-decode.test.ts), and leaves it everything else: multipath,
// other families, and anything malformed, so refusals keep their words.
import type { NetlinkMessage } from '../../kernel/netlink-codec.js';
import {
  AF_INET, AF_INET6, RTA_DST, RTA_GATEWAY, RTA_MULTIPATH, RTA_NH_ID, RTA_OIF, RTA_TABLE, RTA_VIA, RTM_DELROUTE, RTN_UNICAST,
} from '../../kernel/rtnetlink-codec.js';
import { makePrefix } from '../../model/ipv4-prefix.js';
import { linkLocalFromBytes } from '../../model/link-local.js';
import { PLACEHOLDER_GATEWAY } from '../../model/placeholder.js';
import { NO_LEGS, type FpmItem, type FpmLeg } from './fpm-item.js';
import type { LinkLocal } from '../../model/link-local.js';

/**
 * One frozen leg list per (interface, peer): a replay names a few next hops a million times,
 * and a list and a leg object per route were most of what the decoder allocated. Bounded: a
 * stream naming more pairs than this decodes the rest uncached.
 */
const MAX_CACHED_LEGS = 4096;
const classicLegs = new Map<number, readonly FpmLeg[]>();
const viaLegs = new Map<number, Map<LinkLocal, readonly FpmLeg[]>>();
let cachedLegs = 0;

function legsOf(ifindex: number, linkLocal: LinkLocal | undefined): readonly FpmLeg[] {
  const byPeer = linkLocal === undefined ? undefined : viaLegs.get(ifindex);
  const hit = linkLocal === undefined ? classicLegs.get(ifindex) : byPeer?.get(linkLocal);
  if (hit) return hit;
  const legs: readonly FpmLeg[] = Object.freeze([Object.freeze({ ifindex, linkLocal })]);
  if (cachedLegs >= MAX_CACHED_LEGS) return legs;
  cachedLegs++;
  if (linkLocal === undefined) classicLegs.set(ifindex, legs);
  else if (byPeer) byPeer.set(linkLocal, legs);
  else viaLegs.set(ifindex, new Map([[linkLocal, legs]]));
  return legs;
}

/** The item of a plain IPv4 route message, or undefined for the general path to decode. */
export function decodeFpmRoute(m: NetlinkMessage): FpmItem | undefined {
  const { buf, start, end } = m;
  if (end - start < 12 || buf[start] !== AF_INET) return undefined;
  const dstLen = buf[start + 1]!;
  let table = buf[start + 4]!;
  const protocol = buf[start + 5]!;
  const type = buf[start + 7]!;
  let dst = 0;
  let oif = 0;
  let nhId: number | undefined;
  let gateway: number | undefined;
  let via6At = -1;
  for (let off = start + 12; off + 4 <= end;) {
    const len = buf.readUInt16LE(off);
    const t = buf.readUInt16LE(off + 2) & 0x3fff;
    if (len < 4 || off + len > end) return undefined;
    const size = len - 4;
    const s = off + 4;
    switch (t) {
      case RTA_TABLE: if (size === 4) table = buf.readUInt32LE(s); break;
      case RTA_DST: if (size === 4) dst = buf.readUInt32BE(s); break;
      case RTA_OIF: if (size === 4) oif = buf.readUInt32LE(s); break;
      case RTA_NH_ID: if (size === 4) nhId = buf.readUInt32LE(s); break;
      case RTA_GATEWAY: if (size === 4) gateway = buf.readUInt32BE(s); break;
      case RTA_VIA:
        if (size >= 2) {
          const fam = buf.readUInt16LE(s);
          if (fam === AF_INET6 && size === 18) via6At = s + 2;
          else if (fam === AF_INET && size === 6) gateway = buf.readUInt32BE(s + 2);
        }
        break;
      case RTA_MULTIPATH: return undefined;
      default: break;
    }
    off += (len + 3) & ~3;
  }
  const prefix = makePrefix(dst, dstLen);
  if (m.type === RTM_DELROUTE) return { kind: 'route-del', table, prefix, protocol };
  if (type !== RTN_UNICAST) return { kind: 'route-unusable', table, prefix, protocol, reason: 'not-unicast' };
  if (nhId !== undefined) return { kind: 'route-add', table, prefix, protocol, legs: NO_LEGS, nhId };
  if (via6At >= 0 && buf[via6At] === 0xfe && (buf[via6At + 1]! & 0xc0) === 0x80) {
    return { kind: 'route-add', table, prefix, protocol, legs: legsOf(oif, linkLocalFromBytes(buf, via6At)), nhId: undefined };
  }
  if (gateway === PLACEHOLDER_GATEWAY && oif > 0) return { kind: 'route-add', table, prefix, protocol, legs: legsOf(oif, undefined), nhId: undefined };
  return { kind: 'route-unusable', table, prefix, protocol, reason: 'no-ipv6-nexthop' };
}
