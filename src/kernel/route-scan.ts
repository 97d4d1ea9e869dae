// Route dumps read at memory speed: a route's key and its forwarding as raw bytes, no legs decoded.
import type { NetlinkMessage } from './netlink-codec.js';
import { AF_INET, RTA_DST, RTA_GATEWAY, RTA_MULTIPATH, RTA_NH_ID, RTA_OIF, RTA_PRIORITY, RTA_TABLE, RTA_VIA, RTNH_F_ONLINK } from './rtnetlink-types.js';

// Byte reads without Buffer's argument checks (a sixth of a dump's scan): callers have
// checked that the bytes lie inside the message, and so inside the buffer.
const u16 = (b: Buffer, o: number): number => b[o]! | (b[o + 1]! << 8);
const u32le = (b: Buffer, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const u32be = (b: Buffer, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** What a dump scan reads of a route: its identity, and its forwarding as raw bytes. */
export interface ScannedRoute {
  table: number;
  dst: number;
  dstLen: number;
  protocol: number;
  metric: number;
  /** rtm_type: RTN_UNICAST, RTN_THROW, RTN_LOCAL, RTN_BLACKHOLE … */
  type: number;
  /** rtm_flags' ONLINK bit and the OIF, gateway, VIA, MULTIPATH and NH_ID attributes, verbatim */
  forwardingBytes: string;
}

/** RTA_OIF, RTA_GATEWAY, RTA_MULTIPATH, RTA_VIA, RTA_NH_ID as bits (all below 32) */
const FORWARDING_ATTRS = (1 << RTA_OIF) | (1 << RTA_GATEWAY) | (1 << RTA_MULTIPATH) | (1 << RTA_VIA) | (1 << RTA_NH_ID);
const MAX_FORWARDING_RANGES = 16;

/**
 * The forwarding bytes of the last route scanned into one ScannedRoute: a dump's routes
 * mostly forward alike, and a byte compare is cheaper than a string per route (the string
 * and the lookups keyed by it cost a third of a million-route resync). Same bytes, same
 * string object.
 */
const lastScan = { out: undefined as ScannedRoute | undefined, flags: 0, bytes: Buffer.alloc(256), length: 0, text: '' };
const ranges = new Int32Array(2 * MAX_FORWARDING_RANGES);

/** RTA_TABLE, RTA_DST or RTA_PRIORITY at `off` into `out`; false for any other attribute */
function readKeyAttribute(buf: Buffer, off: number, type: number, len: number, out: Omit<RoutePrefix, 'tos'>): boolean {
  if (len !== 8) return false;
  if (type === RTA_TABLE) out.table = u32le(buf, off + 4);
  else if (type === RTA_DST) out.dst = u32be(buf, off + 4);
  else if (type === RTA_PRIORITY) out.metric = u32le(buf, off + 4);
  else return false;
  return true;
}

/** struct rtmsg's key fields into `out` (dst and metric come from attributes, zeroed here); false for other families */
function readRtmsgKey(m: NetlinkMessage, out: Omit<RoutePrefix, 'tos'>): boolean {
  const { buf, start, end } = m;
  if (end - start < 12) throw new RangeError('rtmsg too short');
  if (buf[start] !== AF_INET) return false;
  out.dstLen = buf[start + 1]!;
  out.table = buf[start + 4]!;
  out.protocol = buf[start + 5]!;
  out.type = buf[start + 7]!;
  out.dst = 0;
  out.metric = 0;
  return true;
}

/**
 * Reads an IPv4 route message into `out` without decoding its legs (a million-route dump
 * decodes at memory speed); false for other families. decodeRoute() gives the legs.
 */
export function scanRoute(m: NetlinkMessage, out: ScannedRoute): boolean {
  const { buf, start, end } = m;
  if (!readRtmsgKey(m, out)) return false;
  const flags = u32le(buf, start + 8) & RTNH_F_ONLINK;
  let n = 0;
  let length = 0;
  let off = start + 12;
  while (off + 4 <= end) {
    const len = u16(buf, off);
    const type = u16(buf, off + 2) & 0x3fff;
    if (len < 4 || off + len > end) throw new RangeError(`attribute ${type} length ${len} overruns its message`);
    if (!readKeyAttribute(buf, off, type, len, out) && type < 32 && (FORWARDING_ATTRS >>> type) & 1) {
      if (n < ranges.length) {
        ranges[n] = off;
        ranges[n + 1] = off + len;
      }
      n += 2;
      length += len;
    }
    off += (len + 3) & ~3;
  }
  out.forwardingBytes = n <= ranges.length ? forwardingText(buf, flags, n, length, out) : forwardingTextSlow(m, flags);
  return true;
}

/** the forwarding as a string: the last one again when the bytes are the same */
function forwardingText(buf: Buffer, flags: number, n: number, length: number, out: ScannedRoute): string {
  const last = lastScan;
  if (last.out === out && last.flags === flags && last.length === length) {
    let p = 0;
    let same = true;
    for (let r = 0; r < n && same; r += 2) {
      const from = ranges[r]!;
      const to = ranges[r + 1]!;
      for (let i = from; i < to; i++, p++) {
        if (buf[i] !== last.bytes[p]) {
          same = false;
          break;
        }
      }
    }
    if (same) return last.text;
  }
  let text = String.fromCharCode(flags);
  if (last.bytes.length < length) last.bytes = Buffer.alloc(Math.max(length, last.bytes.length * 2));
  let p = 0;
  for (let r = 0; r < n; r += 2) {
    text += buf.toString('latin1', ranges[r], ranges[r + 1]);
    p += buf.copy(last.bytes, p, ranges[r], ranges[r + 1]);
  }
  last.out = out;
  last.flags = flags;
  last.length = length;
  last.text = text;
  return text;
}

/** more forwarding attributes than ranges holds (no kernel sends that): the plain way, uncached */
function forwardingTextSlow(m: NetlinkMessage, flags: number): string {
  const { buf, start, end } = m;
  let text = String.fromCharCode(flags);
  for (let off = start + 12; off + 4 <= end;) {
    const len = u16(buf, off);
    const type = u16(buf, off + 2) & 0x3fff;
    if (type < 32 && (FORWARDING_ATTRS >>> type) & 1) text += buf.toString('latin1', off, off + len);
    off += (len + 3) & ~3;
  }
  lastScan.out = undefined;
  return text;
}

/** What the main-table scan reads of a route: its key, protocol and type, nothing else. */
export interface RoutePrefix {
  table: number;
  dst: number;
  dstLen: number;
  protocol: number;
  type: number;
  /** rtm_tos: a route for one TOS only does not shadow the others */
  tos: number;
  metric: number;
}

/** Reads an IPv4 route message's key into `out`; false for other families. Throws on malformed input. */
export function scanRoutePrefix(m: NetlinkMessage, out: RoutePrefix): boolean {
  const { buf, start, end } = m;
  if (!readRtmsgKey(m, out)) return false;
  out.tos = buf[start + 3]!;
  let off = start + 12;
  while (off + 4 <= end) {
    const len = u16(buf, off);
    const type = u16(buf, off + 2) & 0x3fff;
    if (len < 4 || off + len > end) throw new RangeError(`attribute ${type} length ${len} overruns its message`);
    readKeyAttribute(buf, off, type, len, out);
    off += (len + 3) & ~3;
  }
  return true;
}
