import { describe, expect, it } from 'vitest';
import { MessageWriter, splitMessages } from '../../src/kernel/netlink-codec.js';
import { RTN_BLACKHOLE, RTN_UNICAST, RTNH_F_ONLINK, writeDelRoute, writeNewRoute, type KernelRoute } from '../../src/kernel/rtnetlink-codec.js';
import { decodeFpmMessage, decodeFpmMessageGeneral } from '../../src/sources/fpm/fpm-decode.js';
import { decodeFpmRoute } from '../../src/sources/fpm/fpm-route-decode.js';

const ll = Buffer.from('fe80000000000000020000fffe000101', 'hex');
const global6 = Buffer.from('20010db8000000000000000000000001', 'hex');
const base: KernelRoute = { table: 254, dst: 0x0a000100, dstLen: 24, protocol: 186, metric: 20, type: RTN_UNICAST, legs: [] };
const ROUTES: KernelRoute[] = [
  { ...base, legs: [{ ifindex: 3, gateway: 0xa9fe0001, flags: RTNH_F_ONLINK }] }, // FRR <= 10.5
  { ...base, legs: [{ ifindex: 3, via6: ll, flags: 0 }] }, // FRR 10.6 RTA_VIA
  { ...base, legs: [{ ifindex: 0, via6: ll, flags: 0 }] },
  { ...base, legs: [{ ifindex: 3, via6: global6, flags: 0 }] },
  { ...base, legs: [{ ifindex: 3, gateway: 0x0a000001, flags: 0 }] }, // an IPv4 gateway
  { ...base, legs: [{ ifindex: 0, gateway: 0xa9fe0001, flags: RTNH_F_ONLINK }] },
  { ...base, nhId: 17 },
  { ...base, table: 5549, legs: [{ ifindex: 3, via6: ll, flags: 0 }] },
  { ...base, type: RTN_BLACKHOLE },
  { ...base, legs: [{ ifindex: 3, via6: ll, flags: 0 }, { ifindex: 4, via6: ll, flags: 0 }] }, // multipath: the general path
];

const messageOf = (write: (w: MessageWriter) => void) => {
  const w = new MessageWriter();
  write(w);
  return splitMessages(w.take()).messages[0]!;
};

describe('FPM route fast path', () => {
  it('answers what the general path answers, adds and deletes alike', () => {
    for (const r of ROUTES) {
      for (const m of [messageOf((w) => writeNewRoute(w, 1, r, 'replace', false)), messageOf((w) => writeDelRoute(w, 2, r, false))]) {
        expect(decodeFpmMessage(m), JSON.stringify(r)).toEqual(decodeFpmMessageGeneral(m));
      }
    }
  });

  it('leaves multipath and malformed messages to the general path', () => {
    expect(decodeFpmRoute(messageOf((w) => writeNewRoute(w, 1, ROUTES[9]!, 'replace', false)))).toBeUndefined();
    const m = messageOf((w) => writeNewRoute(w, 1, ROUTES[1]!, 'replace', false));
    m.buf.writeUInt16LE(200, m.start + 12); // the first attribute claims 200 bytes
    expect(decodeFpmRoute(m)).toBeUndefined();
    expect(decodeFpmMessage(m)).toMatchObject({ kind: 'malformed' });
  });
});
