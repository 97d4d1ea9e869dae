import { describe, expect, it } from 'vitest';
import { decodeAck, errnoName, MessageWriter, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLMSG_ERROR, splitMessages } from '../../src/kernel/netlink-codec.js';
import {
  decodeLink, decodeNeighbour, decodeRoute, decodeRule, FR_ACT_TO_TBL, FRA_PRIORITY, FRA_PROTOCOL, FRA_SUPPRESS_PREFIXLEN, FRA_TABLE, RTM_DELROUTE, RTM_DELRULE,
  RTM_NEWROUTE, RTM_NEWRULE, RTN_THROW, RTN_UNICAST, RTNH_F_ONLINK, scanRoute, scanRoutePrefix, writeDelRoute, writeNeighbour, writeNewRoute, writeRule,
  writeStoredRoute, writeThrowRoute, type KernelRoute, type RoutePrefix, type ScannedRoute,
} from '../../src/kernel/rtnetlink-codec.js';
import { Forwardings } from '../../src/kernel/forwardings.js';

const GW = 0xa9fe0001;
const base: KernelRoute = { table: 254, dst: 0x0a630101, dstLen: 32, protocol: 186, metric: 20, type: RTN_UNICAST, legs: [{ ifindex: 2, gateway: GW, flags: RTNH_F_ONLINK }] };

function roundTrip(r: KernelRoute, mode: 'replace' | 'create' = 'replace') {
  const w = new MessageWriter(16);
  writeNewRoute(w, 7, r, mode, true);
  const { messages, error } = splitMessages(w.take());
  expect(error).toBeUndefined();
  expect(messages).toHaveLength(1);
  return { msg: messages[0]!, route: decodeRoute(messages[0]!) };
}

describe('route codec', () => {
  it('single onlink leg: flags, table, header bytes as the kernel wants them', () => {
    const { msg, route } = roundTrip(base);
    expect(msg.type).toBe(RTM_NEWROUTE);
    expect(msg.flags & (NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK)).toBe(NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK);
    expect(msg.seq).toBe(7);
    expect(msg.buf.readUInt8(msg.start + 7)).toBe(RTN_UNICAST);
    expect(msg.buf.readUInt32LE(msg.start + 8) & RTNH_F_ONLINK).toBe(RTNH_F_ONLINK);
    expect(route).toEqual(base);
  });

  it('create is exclusive, tables above 255 go in RTA_TABLE with RT_TABLE_COMPAT in the header', () => {
    const { msg, route } = roundTrip({ ...base, table: 100_000 }, 'create');
    expect(msg.flags & (NLM_F_EXCL | NLM_F_REPLACE)).toBe(NLM_F_EXCL);
    expect(msg.buf.readUInt8(msg.start + 4)).toBe(252);
    expect(route?.table).toBe(100_000);
  });

  it('multipath and RTA_VIA legs round-trip, padded to 4 bytes', () => {
    const via6 = Buffer.from('fe800000000000000000000000000101', 'hex');
    const mp: KernelRoute = { ...base, dstLen: 24, dst: 0x0a630200, legs: [{ ifindex: 2, gateway: GW, flags: RTNH_F_ONLINK }, { ifindex: 3, via6, flags: RTNH_F_ONLINK }, { ifindex: 4, gateway: GW, flags: RTNH_F_ONLINK }] };
    const { msg, route } = roundTrip(mp);
    expect((msg.end - msg.start) % 4).toBe(0);
    expect(route).toEqual(mp);
    const single = { ...base, legs: [{ ifindex: 5, via6, flags: 0 }] };
    expect(roundTrip(single).route).toEqual(single);
  });

  it('delete names protocol and metric; several messages share one buffer', () => {
    const w = new MessageWriter(8);
    writeDelRoute(w, 1, base, false);
    writeNewRoute(w, 2, base, 'create', true);
    const { messages } = splitMessages(w.take());
    expect(messages.map((m) => [m.type, m.seq, m.flags & NLM_F_ACK])).toEqual([[RTM_DELROUTE, 1, 0], [RTM_NEWROUTE, 2, NLM_F_ACK]]);
    expect(decodeRoute(messages[0]!)).toMatchObject({ protocol: 186, metric: 20, dst: base.dst, legs: [{ ifindex: 0 }] });
  });

  it('routes written from the store are byte for byte what the general writer writes, and scan back', () => {
    const forwardings = new Forwardings();
    const via6 = Buffer.from('fe800000000000000000000000000001', 'hex');
    const shapes: KernelRoute[] = [
      base,
      { ...base, table: 1000, dstLen: 24, dst: 0x0a630100 },
      { ...base, legs: [{ ifindex: 2, gateway: GW, flags: RTNH_F_ONLINK }, { ifindex: 3, gateway: GW, flags: RTNH_F_ONLINK }] },
      { ...base, legs: [{ ifindex: 2, via6, flags: 0 }] },
    ];
    for (const r of shapes) {
      const fwd = forwardings.get(forwardings.intern(r.legs));
      for (const mode of ['create', 'replace'] as const) {
        const a = new MessageWriter(16);
        const b = new MessageWriter(16);
        writeNewRoute(a, 9, r, mode, true);
        writeStoredRoute(b, 9, mode, r.table, r.dst, r.dstLen, r.protocol, r.metric, fwd, true);
        expect(b.take().toString('hex')).toBe(a.take().toString('hex'));
      }
      const a = new MessageWriter(16);
      const b = new MessageWriter(16);
      writeDelRoute(a, 4, r, false);
      writeStoredRoute(b, 4, 'delete', r.table, r.dst, r.dstLen, r.protocol, r.metric, undefined, false);
      const bytes = b.take();
      expect(bytes.toString('hex')).toBe(a.take().toString('hex'));
      const scanned: ScannedRoute = { table: 0, dst: 0, dstLen: 0, protocol: 0, metric: 0, type: 0, forwardingBytes: '' };
      expect(scanRoute(splitMessages(bytes).messages[0]!, scanned)).toBe(true);
      expect(scanned).toMatchObject({ table: r.table, dst: r.dst, dstLen: r.dstLen, protocol: 186, metric: 20 });
    }
  });

  it('refuses truncated input instead of reading past it', () => {
    const w = new MessageWriter();
    writeNewRoute(w, 1, base, 'replace', true);
    const bytes = w.take();
    bytes.writeUInt16LE(200, 16 + 12); // first attribute claims 200 bytes
    const { messages } = splitMessages(bytes);
    expect(() => decodeRoute(messages[0]!)).toThrow(RangeError);
    expect(splitMessages(bytes.subarray(0, 20)).error).toMatch(/does not fit/);
  });
});

describe('throw routes and policy rules', () => {
  const one = (w: MessageWriter) => {
    const { messages, error } = splitMessages(w.take());
    expect(error).toBeUndefined();
    expect(messages).toHaveLength(1);
    return messages[0]!;
  };

  it('a throw route is created exclusively with rtm_type RTN_THROW and no next hop; its delete names type, protocol and metric', () => {
    const r = { table: 5549, dst: 0x0a630280, dstLen: 25, protocol: 200, metric: 20 };
    const w = new MessageWriter(16);
    writeThrowRoute(w, 3, r, 'create', true);
    const add = one(w);
    expect(add.type).toBe(RTM_NEWROUTE);
    expect(add.flags & (NLM_F_CREATE | NLM_F_EXCL | NLM_F_REPLACE)).toBe(NLM_F_CREATE | NLM_F_EXCL);
    expect(decodeRoute(add)).toMatchObject({ ...r, type: RTN_THROW });
    writeThrowRoute(w, 4, r, 'delete', false);
    const del = one(w);
    expect(del.type).toBe(RTM_DELROUTE);
    expect(del.buf.readUInt8(del.start + 7)).toBe(RTN_THROW);
    expect(decodeRoute(del)).toMatchObject({ table: 5549, protocol: 200, metric: 20, dstLen: 25 });
  });

  it('the main-table scan reads key, protocol, type, TOS and metric', () => {
    const w = new MessageWriter(16);
    writeNewRoute(w, 1, { ...base, dst: 0x0a630280, dstLen: 25, protocol: 2, metric: 100 }, 'create', false);
    const m = one(w);
    m.buf[m.start + 3] = 0x10; // rtm_tos
    const out: RoutePrefix = { table: 0, dst: 0, dstLen: 0, protocol: 0, type: 0, tos: 0, metric: 0 };
    expect(scanRoutePrefix(m, out)).toBe(true);
    expect(out).toEqual({ table: 254, dst: 0x0a630280, dstLen: 25, protocol: 2, type: RTN_UNICAST, tos: 0x10, metric: 100 });
    expect(decodeRoute(m)?.tos).toBe(0x10);
  });

  it('our rule: fib_rule_hdr with FR_ACT_TO_TBL, FRA_PRIORITY, FRA_TABLE (above 255: header 0) and FRA_PROTOCOL; create is exclusive', () => {
    const w = new MessageWriter(16);
    writeRule(w, 5, { priority: 5549, table: 5549, protocol: 200 }, 'create', true);
    const m = one(w);
    expect(m.type).toBe(RTM_NEWRULE);
    expect(m.flags & (NLM_F_CREATE | NLM_F_EXCL)).toBe(NLM_F_CREATE | NLM_F_EXCL);
    expect([...m.buf.subarray(m.start, m.start + 8)]).toEqual([2, 0, 0, 0, 0, 0, 0, FR_ACT_TO_TBL]);
    expect(decodeRule(m)).toEqual({ family: 2, priority: 5549, table: 5549, action: FR_ACT_TO_TBL, protocol: 200, selective: false });
    writeRule(w, 6, { priority: 100, table: 100, protocol: 200 }, 'delete', false);
    const d = one(w);
    expect(d.type).toBe(RTM_DELRULE);
    expect(d.buf.readUInt8(d.start + 4)).toBe(100);
  });

  it('a dumped rule: suppress_prefixlen -1 is no selector; from/to, other attributes or flags are', () => {
    const rule = (hdr: number[], attrs: [number, Buffer][]) => {
      const w = new MessageWriter(16);
      w.begin(RTM_NEWRULE, 0, 1);
      for (const b of hdr) w.u8(b);
      w.u32(0);
      for (const [t, v] of attrs) w.attrBytes(t, v);
      w.end();
      return decodeRule(one(w));
    };
    const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b; };
    const plain: [number, Buffer][] = [[FRA_TABLE, u32(254)], [FRA_SUPPRESS_PREFIXLEN, u32(-1)], [FRA_PRIORITY, u32(32766)], [FRA_PROTOCOL, Buffer.of(2)]];
    expect(rule([2, 0, 0, 0, 254, 0, 0, 1], plain)).toEqual({ family: 2, priority: 32766, table: 254, action: 1, protocol: 2, selective: false });
    expect(rule([2, 8, 0, 0, 254, 0, 0, 1], plain).selective).toBe(true); // to 10.0.0.0/8
    expect(rule([2, 0, 0, 0, 254, 0, 0, 1], [...plain, [3 /* FRA_IIFNAME */, Buffer.from('h0\0')]]).selective).toBe(true);
    expect(rule([2, 0, 0, 0, 254, 0, 0, 1], [[FRA_SUPPRESS_PREFIXLEN, u32(0)]]).selective).toBe(true);
  });
});

describe('neighbour, link and ack codec', () => {
  it('neighbour replace carries NUD_PERMANENT, lladdr and NDA_PROTOCOL', () => {
    const w = new MessageWriter();
    writeNeighbour(w, 3, { family: 2, ifindex: 9, dst: Uint8Array.of(169, 254, 0, 1), lladdr: Uint8Array.of(2, 0, 0, 0, 1, 1), state: 0x80, flags: 0, protocol: 186 }, 'replace', true);
    const { messages } = splitMessages(w.take());
    expect(decodeNeighbour(messages[0]!)).toEqual({ family: 2, ifindex: 9, state: 0x80, flags: 0, dst: Buffer.from([169, 254, 0, 1]), lladdr: Buffer.from([2, 0, 0, 0, 1, 1]), protocol: 186 });
  });

  it('decodes a link with name, MAC and kind', () => {
    const w = new MessageWriter();
    w.begin(16, 0, 1).u8(0).u8(0).u16(1).i32(7).u32(0x10043).u32(0);
    w.attrBytes(3, Buffer.from('h0\0'));
    w.attrBytes(1, Uint8Array.of(2, 0, 0, 0, 2, 1));
    const at = w.mark();
    w.u16(0).u16(18);
    w.attrBytes(1, Buffer.from('veth\0'));
    w.closeLength(at);
    w.end();
    expect(decodeLink(splitMessages(w.take()).messages[0]!)).toEqual({ ifindex: 7, name: 'h0', flags: 0x10043, mac: Buffer.from([2, 0, 0, 0, 2, 1]), kind: 'veth' });
  });

  it('decodes an extended ACK with the kernel message', () => {
    const w = new MessageWriter();
    w.begin(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 0).i32(-22);
    w.u32(60).u16(24).u16(0).u32(42).u32(0); // the request's header, capped
    w.attrBytes(1, Buffer.from('Invalid scope\0'));
    w.end();
    expect(decodeAck(splitMessages(w.take()).messages[0]!)).toEqual({ errno: 22, seq: 42, extack: 'Invalid scope' });
  });
});

describe('errnoName (Node\'s table, not ours)', () => {
  it('names the kernel\'s errnos and says the number of one it does not know', () => {
    expect([17, 3, 2, 19, 22, 105].map(errnoName)).toEqual(['EEXIST', 'ESRCH', 'ENOENT', 'ENODEV', 'EINVAL', 'ENOBUFS']);
    expect(errnoName(4242)).toBe('errno 4242');
    expect(errnoName(-1)).toBe('errno -1');
  });
});
