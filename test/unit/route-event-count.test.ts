// The route watcher's counter (bench/route-event-count.ts) against route messages in the
// kernel's own layout, made by the daemon's codec: it must count what decodeRoute would.
import { describe, expect, it } from 'vitest';
import { RouteEventCounter } from '../../bench/route-event-count.js';
import { MessageWriter, splitMessages } from '../../src/kernel/netlink-codec.js';
import { AF_INET, decodeRoute, RTA_DST, RTM_NEWROUTE, RTN_UNICAST, RTNH_F_ONLINK, writeDelRoute, writeNewRoute, type KernelRoute } from '../../src/kernel/rtnetlink-codec.js';

const FIRST = 0x0a000000;
const OURS = { table: 1000, protocol: 200 };
const ZEBRA = { table: 254, protocol: 186 };

function route(i: number, t: { table: number; protocol: number } = OURS, dstLen = 32): KernelRoute {
  return { ...t, dst: (FIRST + i) >>> 0, dstLen, metric: 20, type: RTN_UNICAST, legs: [{ ifindex: 2, gateway: 0xa9fe0001, flags: RTNH_F_ONLINK }] };
}

/** one datagram holding these routes' RTM_NEWROUTE messages */
function datagram(...routes: KernelRoute[]): Buffer {
  const w = new MessageWriter();
  for (const r of routes) writeNewRoute(w, 0, r, 'replace', false);
  return w.take();
}

describe('RouteEventCounter', () => {
  it('reads table (RTA_TABLE above 255, the header below), protocol and prefix as decodeRoute does', () => {
    for (const r of [route(1), route(2, ZEBRA)]) {
      const bytes = datagram(r);
      const decoded = decodeRoute(splitMessages(bytes).messages[0]!)!;
      expect([decoded.table, decoded.protocol, decoded.dst]).toEqual([r.table, r.protocol, r.dst]);
      const c = new RouteEventCounter([{ table: decoded.table, protocol: decoded.protocol }], FIRST, 3);
      c.add(bytes, 1);
      expect(c.seen).toEqual([1]);
    }
    // a header-only table (no RTA_TABLE), as older kernels send for main
    const w = new MessageWriter();
    w.begin(RTM_NEWROUTE, 0, 0).u8(AF_INET).u8(32).u8(0).u8(0).u8(254).u8(186).u8(0).u8(RTN_UNICAST).u32(0);
    w.attrIpv4(RTA_DST, FIRST + 1);
    w.end();
    const c = new RouteEventCounter([ZEBRA], FIRST, 2);
    c.add(w.take(), 1);
    expect(c.seen).toEqual([1]);
  });

  it('says when each table first held every prefix, counting a prefix once however often it is written', () => {
    const c = new RouteEventCounter([ZEBRA, OURS], FIRST, 3);
    c.add(datagram(route(0, ZEBRA), route(0), route(1, ZEBRA)), 10);
    c.add(datagram(route(1, ZEBRA), route(0, ZEBRA)), 20); // zebra replacing routes it wrote
    expect(c.seen).toEqual([2, 1]);
    expect(c.complete).toBe(false);
    c.add(datagram(route(2, ZEBRA)), 30);
    c.add(datagram(route(1)), 40);
    expect(c.doneAt).toEqual([30, undefined]);
    c.add(datagram(route(2), route(2)), 50);
    expect(c.doneAt).toEqual([30, 50]);
    expect(c.complete).toBe(true);
    expect([c.datagrams, c.messages]).toEqual([5, 9]);
  });

  it('leaves out deletes, other tables and protocols, other lengths and prefixes outside the range', () => {
    const c = new RouteEventCounter([OURS], FIRST, 2);
    const w = new MessageWriter();
    writeDelRoute(w, 0, route(0), false);
    c.add(w.take(), 1);
    c.add(datagram(route(0, { table: 1001, protocol: 200 }), route(0, { table: 1000, protocol: 186 }), route(0, OURS, 24), route(2), route(-1)), 2);
    expect(c.seen).toEqual([0]);
    expect(c.messages).toBe(6);
  });

  it('stops at a cut-off message without counting it or throwing', () => {
    const whole = datagram(route(0), route(1));
    const c = new RouteEventCounter([OURS], FIRST, 2);
    c.add(whole.subarray(0, whole.length - 8), 1);
    expect(c.seen).toEqual([1]);
    c.add(Buffer.alloc(3), 2);
    expect(c.seen).toEqual([1]);
  });
});
