// Nexthop objects (RTM_NEWNEXTHOP, include/uapi/linux/nexthop.h).
import { forEachAttr, MessageWriter, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REPLACE, NLM_F_REQUEST, type NetlinkMessage } from './netlink-codec.js';
import { AF_UNSPEC, AF_INET, AF_INET6, RTNH_F_ONLINK, type RouteLeg, type Seq } from './rtnetlink-types.js';

export const RTM_NEWNEXTHOP = 104;
export const RTM_DELNEXTHOP = 105;
const RTM_GETNEXTHOP = 106;
const NHA_ID = 1;
const NHA_GROUP = 2;
const NHA_BLACKHOLE = 4;
const NHA_OIF = 5;
const NHA_GATEWAY = 6;

/** A kernel nexthop object (RTM_NEWNEXTHOP), as zebra streams them over FPM. */
export interface NexthopObject {
  readonly id: number;
  readonly family: number;
  readonly flags: number;
  readonly protocol: number;
  readonly oif?: number;
  readonly gateway?: Buffer;
  readonly group?: readonly { readonly id: number; readonly weight: number }[];
  readonly blackhole: boolean;
}

export function decodeNexthopObject(m: NetlinkMessage): NexthopObject {
  const { buf, start, end } = m;
  if (end - start < 8) throw new RangeError('nhmsg too short');
  let id = 0;
  let oif: number | undefined;
  let gateway: Buffer | undefined;
  let group: { id: number; weight: number }[] | undefined;
  let blackhole = false;
  forEachAttr(buf, start + 8, end, (t, s, e) => {
    if (t === NHA_ID && e - s === 4) id = buf.readUInt32LE(s);
    else if (t === NHA_OIF && e - s === 4) oif = buf.readUInt32LE(s);
    else if (t === NHA_GATEWAY && (e - s === 4 || e - s === 16)) gateway = Buffer.from(buf.subarray(s, e));
    else if (t === NHA_BLACKHOLE) blackhole = true;
    else if (t === NHA_GROUP) {
      if ((e - s) % 8 !== 0) throw new RangeError(`NHA_GROUP length ${e - s} is not a multiple of 8`);
      group = [];
      for (let o = s; o < e; o += 8) group.push({ id: buf.readUInt32LE(o), weight: buf.readUInt8(o + 4) + 1 });
    }
  });
  if (id === 0) throw new RangeError('nexthop object without NHA_ID');
  const nh: { -readonly [K in keyof NexthopObject]: NexthopObject[K] } = { id, family: buf.readUInt8(start), flags: buf.readUInt32LE(start + 4), protocol: buf.readUInt8(start + 2), blackhole };
  if (oif !== undefined) nh.oif = oif;
  if (gateway !== undefined) nh.gateway = gateway;
  if (group !== undefined) nh.group = group;
  return nh;
}

/** A nexthop object we write: one leg (a gateway out of an interface), or a group of ids. */
export type NexthopWrite =
  | { readonly id: number; readonly protocol: number; readonly leg: RouteLeg }
  | { readonly id: number; readonly protocol: number; readonly group: readonly number[] };

/** RTM_NEWNEXTHOP (create or replace) or RTM_DELNEXTHOP (by id). */
export function writeNexthop(w: MessageWriter, seq: Seq, nh: NexthopWrite | { readonly id: number }, mode: 'replace' | 'delete', ack: boolean): void {
  const flags = NLM_F_REQUEST | (mode === 'replace' ? NLM_F_CREATE | NLM_F_REPLACE : 0) | (ack ? NLM_F_ACK : 0);
  w.begin(mode === 'replace' ? RTM_NEWNEXTHOP : RTM_DELNEXTHOP, flags, seq);
  const leg = 'leg' in nh ? nh.leg : undefined;
  const family = !leg ? AF_UNSPEC : leg.via6 ? AF_INET6 : AF_INET;
  // struct nhmsg: family, scope, protocol, resvd, flags
  w.u8(family).u8(0).u8('protocol' in nh ? nh.protocol : 0).u8(0).u32(leg ? leg.flags & RTNH_F_ONLINK : 0);
  w.attrU32(NHA_ID, nh.id);
  if (leg) {
    w.attrU32(NHA_OIF, leg.ifindex);
    if (leg.via6) w.attrBytes(NHA_GATEWAY, leg.via6);
    else if (leg.gateway !== undefined) w.attrIpv4(NHA_GATEWAY, leg.gateway);
  } else if ('group' in nh) {
    const at = w.mark();
    w.u16(0).u16(NHA_GROUP);
    for (const id of nh.group) w.u32(id).u8(0).u8(0).u16(0); // struct nexthop_grp, weight 1
    w.closeLength(at);
  }
  w.end();
}

export function writeNexthopDump(w: MessageWriter, seq: Seq): void {
  w.begin(RTM_GETNEXTHOP, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.u8(AF_UNSPEC).u8(0).u8(0).u8(0).u32(0);
  w.end();
}
