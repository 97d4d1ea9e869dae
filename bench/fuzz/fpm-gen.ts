// FPM streams for the fuzzer: zebra's captured bytes (test/fixtures/fpm) and messages from
// the project's own rtnetlink writers, in sensible mixes and in the shapes that hurt
// (wide RTA_MULTIPATH, huge groups, groups of groups, many ids), then mutated where the
// lengths live (FPM header, nlmsg_len, rta_len, rtnh_len, NHA_GROUP) and split into chunks.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageWriter } from '../../src/kernel/netlink-codec.js';
import {
  RTA_MULTIPATH, RTN_UNICAST, RTNH_F_ONLINK, writeDelRoute, writeNewRoute, writeNexthop, type KernelRoute, type RouteLeg,
} from '../../src/kernel/rtnetlink-codec.js';
import type { Rng } from './rng.js';

export const FPM_IFNAMES: Readonly<Record<number, string>> = { 1: 'lo', 2: 'h0', 3: 'h1', 4: 'swp1', 5: 'swp2', 6: 'eth0' };

/** Every captured zebra stream, split into its frames (headers included). */
export function loadFixtureFrames(root: string): Buffer[][] {
  const dir = join(root, 'test/fixtures/fpm');
  const streams: Buffer[][] = [];
  for (const sub of readdirSync(dir)) {
    for (const f of readdirSync(join(dir, sub)).filter((n) => n.endsWith('.bin'))) {
      const bytes = readFileSync(join(dir, sub, f));
      const frames: Buffer[] = [];
      for (let off = 0; off + 4 <= bytes.length;) {
        const len = bytes.readUInt16BE(off + 2);
        if (len < 4) break;
        frames.push(bytes.subarray(off, off + len));
        off += len;
      }
      streams.push(frames);
    }
  }
  return streams;
}

const PLACEHOLDER = 0xa9fe0001; // 169.254.0.1

/** fe80::ff:fe00:<n>, the EUI-64 shape zebra's peers have; n distinct for distinct legs. */
function peerLl(n: number): Buffer {
  const b = Buffer.alloc(16);
  b[0] = 0xfe;
  b[1] = 0x80;
  b[11] = 0xff;
  b[12] = 0xfe;
  b.writeUInt16BE(n & 0xffff, 14);
  if (n > 0xffff) b.writeUInt16BE((n >>> 16) & 0xffff, 8);
  return b;
}

function ifindex(rng: Rng): number {
  const r = rng.int(20);
  if (r < 16) return rng.range(2, 6);
  if (r < 18) return rng.pick([0, 1, 7, 255]);
  return rng.u32() | 0;
}

function leg(rng: Rng, distinct?: number): RouteLeg {
  const flags = rng.chance(0.8) ? RTNH_F_ONLINK : rng.int(256);
  const ix = distinct === undefined ? ifindex(rng) : 2 + (distinct % 5);
  const r = distinct === undefined ? rng.int(12) : 0;
  if (r < 5) return { ifindex: ix, via6: peerLl(distinct ?? rng.range(0x101, 0x104)), flags };
  if (r < 9) return { ifindex: ix, gateway: PLACEHOLDER, flags };
  if (r < 10) return { ifindex: ix, via6: rng.chance(0.5) ? Buffer.from('20010db8000000000000000000000001', 'hex') : rng.bytes(16), flags };
  if (r < 11) return { ifindex: ix, gateway: rng.u32(), flags };
  return { ifindex: ix, flags };
}

function table(rng: Rng): number {
  const r = rng.int(20);
  if (r < 12) return 254;
  if (r < 15) return rng.pick([1000, 5549, 100]);
  return rng.pick([0, 255, 253, 252, 1, 256, 0xffffffff, rng.u32()]);
}

function prefix(rng: Rng): { dst: number; dstLen: number } {
  const r = rng.int(20);
  let dstLen = r < 17 ? rng.range(8, 32) : rng.pick([0, 33, 40, 64, 128, 255]);
  const clean = dstLen <= 32 && rng.chance(0.9);
  let dst = rng.chance(0.7) ? (0x0a000000 | (rng.int(256) << 16) | (rng.int(256) << 8) | rng.int(256)) >>> 0 : rng.u32();
  if (clean && dstLen < 32) dst = (dst & (dstLen === 0 ? 0 : (0xffffffff << (32 - dstLen)) >>> 0)) >>> 0;
  if (rng.chance(0.02)) dstLen = rng.int(256);
  return { dst, dstLen };
}

function protocol(rng: Rng): number {
  return rng.chance(0.85) ? 186 : rng.pick([2, 11, 196, 188, 200, 0, 255, rng.int(256)]);
}

const route = (rng: Rng, legs: RouteLeg[], nhId?: number): KernelRoute => ({
  table: table(rng), ...prefix(rng), protocol: protocol(rng), metric: rng.chance(0.9) ? 20 : rng.u32(),
  type: rng.chance(0.9) ? RTN_UNICAST : rng.int(13), legs, ...(nhId === undefined ? {} : { nhId }),
});

/** Netlink messages, one Buffer each, from the project's writers. */
class Messages {
  readonly list: Buffer[] = [];
  private readonly w = new MessageWriter(4096);
  private seq = 1;

  private take(): void {
    this.list.push(this.w.take());
  }

  routeAdd(r: KernelRoute, rng: Rng): void {
    writeNewRoute(this.w, this.seq++, r, rng.chance(0.5) ? 'replace' : 'create', false);
    this.take();
  }

  routeDel(r: KernelRoute): void {
    writeDelRoute(this.w, this.seq++, r, false);
    this.take();
  }

  nexthopLeg(id: number, l: RouteLeg, proto = 186): void {
    writeNexthop(this.w, this.seq++, { id, protocol: proto, leg: l }, 'replace', false);
    this.take();
  }

  nexthopGroup(id: number, group: readonly number[], proto = 186): void {
    writeNexthop(this.w, this.seq++, { id, protocol: proto, group }, 'replace', false);
    this.take();
  }

  nexthopDel(id: number): void {
    writeNexthop(this.w, this.seq++, { id }, 'delete', false);
    this.take();
  }
}

/** A small session: a few ids (so groups find their members, or not), routes, deletes, re-adds. */
function mixedMessages(rng: Rng, m: Messages): void {
  const ids = rng.range(1, 24);
  const n = rng.size(60) + 1;
  for (let i = 0; i < n; i++) {
    const k = rng.int(20);
    if (k < 5) m.routeAdd(route(rng, [leg(rng)]), rng);
    else if (k < 7) m.routeAdd(route(rng, Array.from({ length: rng.size(40) + 2 }, () => leg(rng))), rng);
    else if (k < 10) m.routeAdd(route(rng, [], rng.range(1, ids)), rng);
    else if (k < 13) m.nexthopLeg(rng.range(1, ids), leg(rng));
    else if (k < 15) m.nexthopGroup(rng.range(1, ids), Array.from({ length: rng.size(16) + 1 }, () => rng.range(1, ids)));
    else if (k < 17) m.routeDel(route(rng, []));
    else if (k < 18) m.nexthopDel(rng.range(1, ids));
    else if (k < 19) m.nexthopGroup(rng.range(1, ids), []);
    else m.nexthopLeg(rng.chance(0.5) ? 0 : rng.u32(), leg(rng), rng.int(256));
  }
}

/**
 * The shapes the issue measured as slow or unbounded. Sized so that linear code takes a few
 * ms (well inside the budget on a busy machine) and quadratic code far more than 100 ms.
 */
function bombMessages(rng: Rng, m: Messages): void {
  switch (rng.int(5)) {
    case 0: {
      // a route far wider than the kernel can dump (RTA_MULTIPATH, all legs distinct)
      const n = rng.range(257, 1800);
      m.routeAdd({ ...route(rng, []), table: 254, dst: 0x0a630000, dstLen: 16, protocol: 186, type: RTN_UNICAST, legs: Array.from({ length: n }, (_, i) => leg(rng, i + 1)) }, rng);
      return;
    }
    case 1: {
      // one huge group of distinct nexthops
      const n = rng.range(257, 3000);
      for (let i = 1; i <= n; i++) m.nexthopLeg(i, leg(rng, i));
      m.nexthopGroup(100_000, Array.from({ length: n }, (_, i) => i + 1));
      m.routeAdd({ ...route(rng, [], 100_000), table: 254, dst: 0x0a630000, dstLen: 16, protocol: 186, type: RTN_UNICAST }, rng);
      return;
    }
    case 2: {
      // a group of groups: outer x inner legs, product capped at a million
      const leaves = rng.range(1, 64);
      for (let i = 1; i <= leaves; i++) m.nexthopLeg(i, leg(rng, i));
      const inner = rng.range(16, 4000);
      const outer = rng.range(16, Math.min(4000, Math.floor(1_000_000 / inner)));
      m.nexthopGroup(50_000, Array.from({ length: inner }, (_, i) => (i % leaves) + 1));
      m.nexthopGroup(60_000, Array.from({ length: outer }, () => 50_000));
      m.routeAdd({ ...route(rng, [], 60_000), table: 254, dst: 0x0a630000, dstLen: 16, protocol: 186, type: RTN_UNICAST }, rng);
      return;
    }
    case 3: {
      // many ids, each named by its own route (per-route cost must not grow with the ids)
      const n = rng.range(300, 1500);
      for (let i = 1; i <= n; i++) m.nexthopLeg(i, leg(rng, i));
      for (let i = 1; i <= n; i++) m.routeAdd({ table: 254, dst: (0x0a000000 + (i << 8)) >>> 0, dstLen: 24, protocol: 186, metric: 20, type: RTN_UNICAST, legs: [], nhId: i }, rng);
      return;
    }
    default: {
      // many group announcements (per-announcement cost must not grow with the groups)
      const n = rng.range(300, 2000);
      for (let i = 1; i <= 8; i++) m.nexthopLeg(i, leg(rng, i));
      for (let i = 0; i < n; i++) m.nexthopGroup(1000 + i, [(i % 8) + 1, ((i + 1) % 8) + 1]);
      for (let i = 0; i < 50; i++) m.routeAdd({ table: 254, dst: (0x0a000000 + (i << 8)) >>> 0, dstLen: 24, protocol: 186, metric: 20, type: RTN_UNICAST, legs: [], nhId: 1000 + rng.int(n) }, rng);
      return;
    }
  }
}

const FPM_MAX_PAYLOAD = 0xffff - 4;

/** Packs messages into FPM frames (several per frame, as zebra may), headers included. */
function frame(rng: Rng, msgs: readonly Buffer[]): Buffer[] {
  const frames: Buffer[] = [];
  let cur: Buffer[] = [];
  let size = 0;
  const flush = (): void => {
    if (cur.length === 0) return;
    const h = Buffer.alloc(4);
    h[0] = 1;
    h[1] = 1;
    h.writeUInt16BE(Math.min(size + 4, 0xffff), 2); // an oversized message gives a lying header: also a test
    frames.push(Buffer.concat([h, ...cur]));
    cur = [];
    size = 0;
  };
  const perFrame = rng.chance(0.7) ? 1 : rng.range(2, 64);
  for (const m of msgs) {
    if (cur.length >= perFrame || (size + m.length > FPM_MAX_PAYLOAD && cur.length > 0)) flush();
    cur.push(m);
    size += m.length;
  }
  flush();
  return frames;
}

/** Offsets of the length fields in a stream, for mutations that aim at them. */
interface Layout {
  fpm: number[];
  nl: number[];
  nlBody: number[];
  attr: number[];
  rtnh: number[];
}

function layoutPayload(buf: Buffer, from: number, to: number, out: Layout): void {
  let off = from;
  while (off + 16 <= to) {
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > to) return;
    out.nl.push(off);
    const type = buf.readUInt16LE(off + 4);
    const head = type === 24 || type === 25 ? 12 : type === 104 || type === 105 ? 8 : -1;
    if (head >= 0) {
      out.nlBody.push(off + 16);
      layoutAttrs(buf, off + 16 + head, off + len, out, type === 24 || type === 25);
    }
    off += (len + 3) & ~3;
  }
}

function layoutAttrs(buf: Buffer, from: number, to: number, out: Layout, route: boolean): void {
  let off = from;
  while (off + 4 <= to) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > to) return;
    out.attr.push(off);
    if (route && (buf.readUInt16LE(off + 2) & 0x3fff) === RTA_MULTIPATH) {
      let n = off + 4;
      while (n + 8 <= off + len) {
        const nl = buf.readUInt16LE(n);
        if (nl < 8 || n + nl > off + len) break;
        out.rtnh.push(n);
        layoutAttrs(buf, n + 8, n + nl, out, false);
        n += (nl + 3) & ~3;
      }
    }
    off += (len + 3) & ~3;
  }
}

function layoutStream(buf: Buffer): Layout {
  const out: Layout = { fpm: [], nl: [], nlBody: [], attr: [], rtnh: [] };
  for (let off = 0; off + 4 <= buf.length;) {
    const len = buf.readUInt16BE(off + 2);
    if (len < 4) break;
    out.fpm.push(off);
    layoutPayload(buf, off + 4, Math.min(off + len, buf.length), out);
    off += len;
  }
  return out;
}

export function layoutMessages(buf: Buffer): Layout {
  const out: Layout = { fpm: [], nl: [], nlBody: [], attr: [], rtnh: [] };
  layoutPayload(buf, 0, buf.length, out);
  return out;
}

const around = (rng: Rng, orig: number, max: number): number => {
  const r = rng.int(8);
  if (r < 3) return Math.max(0, Math.min(max, orig + rng.range(-8, 8)));
  if (r < 5) return rng.pick([0, 1, 2, 3, 4, 5, 7, 8, 12, 15, 16, 17, 19, 20]);
  if (r < 6) return max;
  return rng.int(max + 1);
};

/** Mutates a copy: the length fields mostly, and some plain bytes, truncations and splices. */
export function mutate(rng: Rng, input: Buffer, layout: Layout, rounds: number): Buffer {
  let buf = Buffer.from(input);
  for (let i = 0; i < rounds && buf.length > 0; i++) {
    const at = (xs: number[]): number | undefined => (xs.length === 0 ? undefined : xs[rng.int(xs.length)]!);
    const fits = (o: number | undefined, n: number): o is number => o !== undefined && o + n <= buf.length;
    switch (rng.int(14)) {
      case 0: { const o = at(layout.fpm); if (fits(o, 4)) buf.writeUInt16BE(around(rng, buf.readUInt16BE(o + 2), 0xffff), o + 2); break; }
      case 1: { const o = at(layout.fpm); if (fits(o, 2)) buf[o + rng.int(2)] = rng.pick([0, 2, 255, rng.int(256)]); break; }
      case 2: { const o = at(layout.nl); if (fits(o, 4)) buf.writeUInt32LE(rng.chance(0.2) ? rng.pick([0xffffffff, 0x80000000, 0x10000]) : around(rng, buf.readUInt32LE(o), 0xffff), o); break; }
      case 3: { const o = at(layout.nl); if (fits(o, 6)) buf.writeUInt16LE(rng.pick([24, 25, 104, 105, 16, 28, 2, 3, rng.int(0x10000)]), o + 4); break; }
      case 4:
      case 5: { const o = at(layout.attr); if (fits(o, 2)) buf.writeUInt16LE(around(rng, buf.readUInt16LE(o), 0xffff), o); break; }
      case 6: { const o = at(layout.attr); if (fits(o, 4)) buf.writeUInt16LE(rng.pick([1, 2, 4, 5, 6, 9, 15, 18, 30, 0x8009, rng.int(0x10000)]), o + 2); break; }
      case 7: { const o = at(layout.rtnh); if (fits(o, 2)) buf.writeUInt16LE(around(rng, buf.readUInt16LE(o), 0xffff), o); break; }
      case 8: { const o = at(layout.nlBody); const k = rng.int(12); if (fits(o, k + 1)) buf[o + k] = rng.pick([0, 1, 2, 10, 32, 33, 254, 255, rng.int(256)]); break; }
      case 9: buf[rng.int(buf.length)] = rng.int(256); break;
      case 10: { const o = rng.int(buf.length); if (o + 4 <= buf.length) buf.writeUInt32LE(rng.u32(), o); break; }
      case 11: buf = buf.subarray(0, rng.int(buf.length)); break;
      case 12: { const o = rng.int(buf.length + 1); buf = Buffer.concat([buf.subarray(0, o), rng.bytes(rng.size(64)), buf.subarray(o)]); break; }
      default: { const a = rng.int(buf.length); const b = Math.min(buf.length, a + rng.size(512)); const o = rng.int(buf.length + 1); buf = Buffer.concat([buf.subarray(0, o), buf.subarray(a, b), buf.subarray(o)]); break; }
    }
  }
  return buf;
}

/** Netlink messages (no FPM header): what one frame's payload holds. */
export function generateMessages(rng: Rng, fixtures: readonly Buffer[][], bombRate: number): Buffer[] {
  const m = new Messages();
  if (rng.chance(bombRate)) bombMessages(rng, m);
  else if (rng.chance(0.3) && fixtures.length > 0) {
    const frames = rng.pick(fixtures);
    for (const f of frames) if (rng.chance(0.8)) m.list.push(f.subarray(4));
    if (rng.chance(0.3)) mixedMessages(rng, m);
  } else mixedMessages(rng, m);
  return m.list;
}

/** A whole zebra connection's bytes: frames, mutated or not. */
export function generateStream(rng: Rng, fixtures: readonly Buffer[][], bombRate: number): Buffer {
  let stream: Buffer;
  if (rng.chance(0.15) && fixtures.length > 0) stream = Buffer.concat(rng.pick(fixtures)); // zebra's bytes as captured
  else stream = Buffer.concat(frame(rng, generateMessages(rng, fixtures, bombRate)));
  if (rng.chance(0.5)) stream = mutate(rng, stream, layoutStream(stream), rng.range(1, 6));
  if (rng.chance(0.02)) stream = Buffer.concat([stream, rng.bytes(rng.size(70_000))]);
  return stream;
}

/** Splits bytes as TCP might: whole, at random points, byte by byte, or across headers. */
export function splitChunks(rng: Rng, buf: Buffer): Buffer[] {
  const r = rng.int(10);
  if (r < 5 || buf.length < 2) return [buf];
  const cuts = new Set<number>();
  if (r < 8) {
    const k = rng.range(1, 16);
    for (let i = 0; i < k; i++) cuts.add(rng.range(1, buf.length - 1));
  } else if (r < 9 && buf.length <= 4096) {
    const step = rng.range(1, 16);
    for (let o = step; o < buf.length; o += step) cuts.add(o);
  } else {
    for (const o of layoutStream(buf).fpm) for (const d of [1, 2, 3, 4, 5]) if (o + d < buf.length && rng.chance(0.3)) cuts.add(o + d);
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const c of sorted) {
    chunks.push(buf.subarray(prev, c));
    prev = c;
  }
  chunks.push(buf.subarray(prev));
  return chunks;
}
