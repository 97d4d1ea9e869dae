import { describe, expect, it } from 'vitest';
import { decodeAck, MessageWriter, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NLMSG_ERROR, splitMessages } from '../../src/kernel/netlink-codec.js';
import {
  decodeLink, decodeNeighbour, decodeRoute, RTM_DELROUTE, RTM_NEWROUTE, RTN_UNICAST, RTNH_F_ONLINK, scanRoute, writeDelRoute, writeNeighbour, writeNewRoute,
  writeStoredRoute, type KernelRoute, type ScannedRoute,
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
