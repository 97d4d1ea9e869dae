// The bench's zebra frames (bench/zebra-frames.ts) are zebra's own bytes: the same routes as
// the FRR 8.4 captures in test/fixtures/fpm/ encode to the captured frames, and every
// encoding decodes, through the daemon's FPM decoder and session, to the route meant.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { zebraAdds, zebraDeletes, FPM_ENCODINGS, type ZebraRoutes } from '../../bench/zebra-frames.js';
import type { Ipv4Prefix } from '../../src/model/ipv4-prefix.js';
import { routeKey, type DesiredRoute } from '../../src/rib/route.js';
import { decodeFpmFrame } from '../../src/sources/fpm/fpm-decode.js';
import { FpmFrameReader } from '../../src/sources/fpm/fpm-framing.js';
import { FpmSession } from '../../src/sources/fpm/fpm-session.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/fpm');
const fixture = (file: string, from: number, to: number) => readFileSync(join(FIXTURES, file)).subarray(from, to);
/** fe80::ff:fe00:101, the peer of the captures */
const ll = Buffer.from('fe80000000000000000000fffe000101', 'hex');

// the captures' port ids (nlmsg_pid), from their .decoded.txt
const CLASSIC_PID = 2826279114;
const NHG_PID = 3002075256;
const ip = (a: number, b: number, c: number, d: number) => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
const routes = (over: Partial<ZebraRoutes>): ZebraRoutes => ({ count: 1, firstDst: ip(10, 99, 1, 1), dstLen: 32, ifindex: 2, peerLinkLocal: ll, ...over });

describe('bench zebra frames against the FRR 8.4 captures', () => {
  it('classic: 10.99.1.1/32 and 10.99.2.0/24 via 169.254.0.1 onlink are the captured frames', () => {
    expect(zebraAdds('classic', routes({ pid: CLASSIC_PID }))[0]).toEqual(fixture('classic/fpm-conn-1.bin', 0, 64));
    expect(zebraAdds('classic', routes({ pid: CLASSIC_PID, firstDst: ip(10, 99, 2, 0), dstLen: 24 }))[0]).toEqual(fixture('classic/fpm-conn-1.bin', 64, 128));
  });

  it('a delete of 10.99.3.0/24 is the captured frame', () => {
    expect(zebraDeletes('classic', routes({ pid: CLASSIC_PID, firstDst: ip(10, 99, 3, 0), dstLen: 24 }))[0]).toEqual(fixture('classic/fpm-conn-1.bin', 260, 308));
  });

  it('nhg: the nexthop object, then a route naming it, then its delete after the route deletes', () => {
    const adds = zebraAdds('nhg', routes({ pid: NHG_PID }))[0]!;
    // captured: NHA_ID 4 fe80::ff:fe00:101 dev 2 at 44, 10.99.1.1/32 nh 4 at 108
    expect(adds).toEqual(Buffer.concat([fixture('nhg/fpm-conn-1.bin', 44, 108), fixture('nhg/fpm-conn-1.bin', 108, 164)]));
    const dels = zebraDeletes('nhg', routes({ pid: NHG_PID }))[0]!;
    expect(dels.subarray(dels.length - 36)).toEqual(fixture('nhg/fpm-conn-1.bin', 588, 624));
    // the route delete: as classic's (captured at 492, /32 10.99.1.1)
    expect(dels.subarray(0, 48)).toEqual(fixture('nhg/fpm-conn-1.bin', 492, 540));
  });

  it.each(FPM_ENCODINGS)('%s: 1,000 routes in chunks decode to 1,000 adds, then 1,000 withdrawals', (enc) => {
    const state = new Map<string, string>();
    const sink = {
      add: (_s: string, r: DesiredRoute) => state.set(routeKey(r.table, r.prefix.key), r.nexthops.map((n) => `${n.interface}%${n.linkLocal ?? '*'}`).join(',')),
      withdraw: (t: number, p: Ipv4Prefix) => state.delete(routeKey(t, p.key)),
    };
    const session = new FpmSession('fpm#1', { protocols: new Set([186]), mainTable: 1000, ifname: (i) => (i === 2 ? 'h0' : undefined) }, sink);
    const reader = new FpmFrameReader();
    const r = routes({ count: 1000, firstDst: ip(10, 0, 0, 0) });
    for (const chunk of zebraAdds(enc, r, 4096)) for (const f of reader.push(chunk)) for (const item of decodeFpmFrame(f)) session.handle(item);
    expect(state.size).toBe(1000);
    expect(state.get('1000:10.0.3.231/32')).toBe(enc === 'classic' ? 'h0%*' : 'h0%fe80::ff:fe00:101');
    expect(session.counters.malformed).toBe(0);
    for (const chunk of zebraDeletes(enc, r, 4096)) for (const f of reader.push(chunk)) for (const item of decodeFpmFrame(f)) session.handle(item);
    expect(state.size).toBe(0);
    expect(session.counters.routesWithdrawn).toBe(1000);
  });
});
