import { describe, expect, it } from 'vitest';
import { MessageWriter, splitMessages } from '../../src/kernel/netlink-codec.js';
import { RTN_UNICAST, RTNH_F_ONLINK, scanRoute, writeNewRoute, type KernelRoute, type ScannedRoute } from '../../src/kernel/rtnetlink-codec.js';

const via6 = Buffer.from('fe800000000000000000000000000001', 'hex');
const route = (legs: KernelRoute['legs'], dst = 0x0a000001): KernelRoute => ({ table: 1000, dst, dstLen: 32, protocol: 200, metric: 20, type: RTN_UNICAST, legs });
const A = route([{ ifindex: 2, gateway: 0xa9fe0001, flags: RTNH_F_ONLINK }]);
const B = route([{ ifindex: 2, gateway: 0xa9fe0002, flags: RTNH_F_ONLINK }]); // same length, one byte apart
const C = route([{ ifindex: 2, via6, flags: 0 }]);
const D = route([{ ifindex: 2, gateway: 0xa9fe0001, flags: 0 }]); // A without ONLINK

function message(r: KernelRoute) {
  const w = new MessageWriter();
  writeNewRoute(w, 1, r, 'replace', false);
  return splitMessages(w.take()).messages[0]!;
}

const fresh = (): ScannedRoute => ({ table: 0, dst: 0, dstLen: 0, protocol: 0, metric: 0, type: 0, forwardingBytes: '' });

describe('scanRoute forwarding bytes', () => {
  it('gives each route the bytes a fresh scan gives it, whatever was scanned before into the same object', () => {
    const expected = new Map([A, B, C, D].map((r) => {
      const s = fresh();
      scanRoute(message(r), s);
      return [r, s.forwardingBytes];
    }));
    expect(new Set(expected.values()).size).toBe(4);
    const reused = fresh();
    for (const r of [A, A, B, A, C, C, D, A, route(A.legs, 0x0a000002), B]) {
      scanRoute(message(r), reused);
      expect(reused.forwardingBytes).toBe(expected.get(r) ?? expected.get(A));
    }
  });
});
