// zebra's FPM frames for the benches, byte for byte as FRR sends them (classic and nhg checked
// against the FRR 8.4 captures in test/fixtures/fpm/ by test/unit/zebra-frames.test.ts; via has
// no capture here: the kernel's struct rtvia, no ONLINK, as test/unit/fpm.test.ts builds FRR
// 10.6's frame, and it must decode to the peer's link-local): an FPM header (version 1,
// type 1 netlink, 16-bit big-endian length) around one rtnetlink message. Hand-encoded, with
// nothing of the daemon's codec, so a change there cannot change what the bench sends.
//   classic: RTA_GATEWAY 169.254.0.1 + RTA_OIF, rtm_flags RTNH_F_ONLINK (FRR 8.4, no nexthop groups)
//   via:     RTA_VIA inet6 link-local + RTA_OIF (FRR 10.6)
//   nhg:     RTM_NEWNEXTHOP first (inet6 link-local + oif), then routes with RTA_NH_ID
export const FPM_ENCODINGS = ['classic', 'via', 'nhg'] as const;
export type FpmEncoding = (typeof FPM_ENCODINGS)[number];

const FPM_HEADER = 4;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_NEWNEXTHOP = 104;
const RTM_DELNEXTHOP = 105;
/** NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE, zebra's adds (captured: 0x501) */
const FLAGS_ADD = 0x501;
/** NLM_F_REQUEST | NLM_F_CREATE, zebra's deletes (captured: 0x401) */
const FLAGS_DEL = 0x401;
const AF_INET = 2;
const AF_INET6 = 10;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_VIA = 18;
const RTA_NH_ID = 30;
const NHA_ID = 1;
const NHA_OIF = 5;
const NHA_GATEWAY = 6;
const RTNH_F_ONLINK = 4;
const RTN_UNICAST = 1;
const PLACEHOLDER = 0xa9fe0001; // 169.254.0.1

export interface ZebraRoutes {
  /** how many routes, /dstLen each, counting up from firstDst by one prefix */
  readonly count: number;
  readonly firstDst: number;
  readonly dstLen: number;
  /** the ifindex zebra names (RTA_OIF / NHA_OIF) */
  readonly ifindex: number;
  /** the peer's link-local, 16 bytes (via and nhg) */
  readonly peerLinkLocal: Buffer;
  /** zebra's netlink port id in nlmsg_pid (captured frames carry one; the daemon ignores it) */
  readonly pid?: number;
  /** rtm_table (254: zebra's main) */
  readonly table?: number;
  /** rtm_protocol (186: bgp) */
  readonly protocol?: number;
  readonly metric?: number;
  /** the nexthop object's id in nhg mode */
  readonly nhId?: number;
}

/** Bytes of one frame of each kind, FPM header included. */
const ADD_LEN: Record<FpmEncoding, number> = { classic: 4 + 60, via: 4 + 76, nhg: 4 + 52 };
const DEL_LEN = 4 + 44;
const NH_ADD_LEN = 4 + 60;
const NH_DEL_LEN = 4 + 32;

class FrameWriter {
  off = 0;
  constructor(readonly buf: Buffer) {}

  fpm(len: number): this {
    this.buf[this.off] = 1;
    this.buf[this.off + 1] = 1;
    this.buf.writeUInt16BE(len, this.off + 2);
    this.off += FPM_HEADER;
    return this;
  }

  nlmsg(len: number, type: number, flags: number, pid: number): this {
    this.buf.writeUInt32LE(len, this.off);
    this.buf.writeUInt16LE(type, this.off + 4);
    this.buf.writeUInt16LE(flags, this.off + 6);
    this.buf.writeUInt32LE(0, this.off + 8); // zebra's FPM messages carry seq 0
    this.buf.writeUInt32LE(pid, this.off + 12);
    this.off += 16;
    return this;
  }

  u8(...v: number[]): this {
    for (const x of v) this.buf[this.off++] = x;
    return this;
  }

  u32le(v: number): this {
    this.buf.writeUInt32LE(v >>> 0, this.off);
    this.off += 4;
    return this;
  }

  attrU32(type: number, v: number): this {
    this.buf.writeUInt16LE(8, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.writeUInt32LE(v >>> 0, this.off + 4);
    this.off += 8;
    return this;
  }

  /** an IPv4 address attribute: network byte order */
  attrAddr(type: number, addr: number): this {
    this.buf.writeUInt16LE(8, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.writeUInt32BE(addr >>> 0, this.off + 4);
    this.off += 8;
    return this;
  }

  attrBytes(type: number, bytes: Buffer, pad = 0): this {
    this.buf.writeUInt16LE(4 + bytes.length, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    bytes.copy(this.buf, this.off + 4);
    this.off += 4 + bytes.length;
    this.buf.fill(0, this.off, this.off + pad);
    this.off += pad;
    return this;
  }
}

interface Resolved { table: number; protocol: number; metric: number; pid: number; nhId: number }
const defaults = (r: ZebraRoutes): Resolved => ({ table: r.table ?? 254, protocol: r.protocol ?? 186, metric: r.metric ?? 20, pid: r.pid ?? 0, nhId: r.nhId ?? 4 });

function rtmsg(w: FrameWriter, dstLen: number, d: Resolved, type: number, flags: number): void {
  // family, dst_len, src_len, tos, table, protocol, scope, type, flags
  w.u8(AF_INET, dstLen, 0, 0, d.table, d.protocol, 0, type).u32le(flags);
}

function writeAdd(w: FrameWriter, enc: FpmEncoding, r: ZebraRoutes, d: Resolved, dst: number, via: Buffer): void {
  const len = ADD_LEN[enc];
  w.fpm(len).nlmsg(len - FPM_HEADER, RTM_NEWROUTE, FLAGS_ADD, d.pid);
  rtmsg(w, r.dstLen, d, RTN_UNICAST, enc === 'classic' ? RTNH_F_ONLINK : 0);
  w.attrAddr(RTA_DST, dst).attrU32(RTA_PRIORITY, d.metric);
  if (enc === 'classic') w.attrAddr(RTA_GATEWAY, PLACEHOLDER).attrU32(RTA_OIF, r.ifindex);
  else if (enc === 'via') w.attrBytes(RTA_VIA, via, 2).attrU32(RTA_OIF, r.ifindex);
  else w.attrU32(RTA_NH_ID, d.nhId);
}

function writeDel(w: FrameWriter, r: ZebraRoutes, d: Resolved, dst: number): void {
  w.fpm(DEL_LEN).nlmsg(DEL_LEN - FPM_HEADER, RTM_DELROUTE, FLAGS_DEL, d.pid);
  rtmsg(w, r.dstLen, d, 0, 0);
  w.attrAddr(RTA_DST, dst).attrU32(RTA_PRIORITY, d.metric);
}

function writeNexthop(w: FrameWriter, r: ZebraRoutes, d: Resolved): void {
  w.fpm(NH_ADD_LEN).nlmsg(NH_ADD_LEN - FPM_HEADER, RTM_NEWNEXTHOP, FLAGS_ADD, d.pid);
  // family, scope, protocol 11 (zebra), resvd, flags
  w.u8(AF_INET6, 0, 11, 0).u32le(0);
  w.attrU32(NHA_ID, d.nhId).attrBytes(NHA_GATEWAY, r.peerLinkLocal).attrU32(NHA_OIF, r.ifindex);
}

function writeNexthopDel(w: FrameWriter, d: Resolved): void {
  w.fpm(NH_DEL_LEN).nlmsg(NH_DEL_LEN - FPM_HEADER, RTM_DELNEXTHOP, FLAGS_DEL, d.pid);
  w.u8(0, 0, 0, 0).u32le(0);
  w.attrU32(NHA_ID, d.nhId);
}

const step = (dstLen: number): number => 2 ** (32 - dstLen);

/**
 * Buffers of whole frames, at most chunkBytes each (zebra writes whole frames into its
 * socket; how TCP splits them is the kernel's business): the adds of `r`, in nhg mode
 * preceded by the nexthop object, as zebra sends them before its routes.
 */
export function zebraAdds(enc: FpmEncoding, r: ZebraRoutes, chunkBytes = 1 << 20): Buffer[] {
  const d = defaults(r);
  const via = Buffer.concat([Buffer.from([AF_INET6, 0]), r.peerLinkLocal]);
  const frame = ADD_LEN[enc];
  const chunks: Buffer[] = [];
  const per = Math.max(1, Math.floor(chunkBytes / frame));
  for (let i = 0; i < r.count; i += per) {
    const n = Math.min(per, r.count - i);
    const first = enc === 'nhg' && i === 0;
    const w = new FrameWriter(Buffer.allocUnsafe(n * frame + (first ? NH_ADD_LEN : 0)));
    if (first) writeNexthop(w, r, d);
    for (let j = i; j < i + n; j++) writeAdd(w, enc, r, d, (r.firstDst + j * step(r.dstLen)) >>> 0, via);
    chunks.push(w.buf);
  }
  return chunks;
}

/** zebra's deletes of the same routes; in nhg mode the nexthop object's delete follows them. */
export function zebraDeletes(enc: FpmEncoding, r: ZebraRoutes, chunkBytes = 1 << 20): Buffer[] {
  const d = defaults(r);
  const chunks: Buffer[] = [];
  const per = Math.max(1, Math.floor(chunkBytes / DEL_LEN));
  for (let i = 0; i < r.count; i += per) {
    const n = Math.min(per, r.count - i);
    const last = enc === 'nhg' && i + n === r.count;
    const w = new FrameWriter(Buffer.allocUnsafe(n * DEL_LEN + (last ? NH_DEL_LEN : 0)));
    for (let j = i; j < i + n; j++) writeDel(w, r, d, (r.firstDst + j * step(r.dstLen)) >>> 0);
    if (last) writeNexthopDel(w, d);
    chunks.push(w.buf);
  }
  return chunks;
}

/** Messages in a stream of zebraAdds (routes, plus the nexthop object in nhg mode). */
export const addMessages = (enc: FpmEncoding, count: number): number => count + (enc === 'nhg' ? 1 : 0);
