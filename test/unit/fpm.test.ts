// FPM decoding against zebra's own bytes (FRR 8.4.4, test/fixtures/fpm), hand-built
// frames for the encodings 8.4 does not send, and a seeded fuzz run.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MessageWriter } from '../../src/kernel/netlink-codec.js';
import { RTNH_F_ONLINK, writeDelRoute, writeNewRoute } from '../../src/kernel/rtnetlink-codec.js';
import type { Ipv4Prefix } from '../../src/model/ipv4-prefix.js';
import { decodeFpmFrame, type FpmItem } from '../../src/sources/fpm/fpm-decode.js';
import { FpmFrameError, FpmFrameReader } from '../../src/sources/fpm/fpm-framing.js';
import { FpmSession } from '../../src/sources/fpm/fpm-session.js';
import { routeKey, type DesiredRoute } from '../../src/rib/route.js';
import { fpmFrame, fpmRoute, PEER_VIA } from '../helpers/fpm-frames.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/fpm');
const fixtureFiles = (): string[] =>
  readdirSync(FIXTURES).flatMap((dir) => readdirSync(join(FIXTURES, dir)).filter((f) => f.endsWith('.bin')).map((f) => join(dir, f)));

function decodeStream(bytes: Buffer, splitAt?: number): FpmItem[] {
  const r = new FpmFrameReader();
  const chunks = splitAt === undefined ? [bytes] : [bytes.subarray(0, splitAt), bytes.subarray(splitAt)];
  return chunks.flatMap((c) => r.push(c)).flatMap(decodeFpmFrame);
}

/** What the sink saw, as the final desired state "table:prefix -> dev%peer,…". */
function replay(items: FpmItem[], protocols = new Set([186])): { state: Record<string, string>; session: FpmSession } {
  const state = new Map<string, string>();
  const sink = {
    add: (_s: string, r: DesiredRoute) => state.set(routeKey(r.table, r.prefix.key), r.nexthops.map((n) => `${n.interface}%${n.linkLocal ?? '*'}`).join(',')),
    withdraw: (t: number, p: Ipv4Prefix) => state.delete(routeKey(t, p.key)),
  };
  const session = new FpmSession('fpm#1', { protocols, mainTable: 1000, ifname: (i) => ({ 2: 'h0', 3: 'h1' })[i] }, sink);
  for (const it of items) session.handle(it);
  return { state: Object.fromEntries([...state].sort()), session };
}

describe('FPM fixtures from FRR 8.4 zebra', () => {
  const withText = fixtureFiles().filter((f) => existsSync(join(FIXTURES, f.replace(/\.bin$/, '.decoded.txt'))));
  it.each(withText)('%s decodes message for message as the decoded text says', (file) => {
    const items = decodeStream(readFileSync(join(FIXTURES, file)));
    const lines = readFileSync(join(FIXTURES, file.replace(/\.bin$/, '.decoded.txt')), 'utf8').trim().split('\n');
    expect(items).toHaveLength(lines.length);
    items.forEach((item, i) => {
      const line = lines[i]!;
      const type = /nlmsg_type=(\w+)/.exec(line)![1];
      const family = /rtm_family=(\w+)/.exec(line)?.[1];
      const dst = /RTA_DST=(\S+)/.exec(line)?.[1];
      const len = /rtm_dst_len=(\d+)/.exec(line)?.[1];
      if (type === 'RTM_NEWROUTE' && family === 'AF_INET') {
        expect(item).toMatchObject({ kind: 'route-add', prefix: { key: `${dst}/${len}` } });
        const nhId = /RTA_NH_ID=(\d+)/.exec(line)?.[1];
        if (nhId) expect(item).toMatchObject({ nhId: Number(nhId) });
        if (line.includes('RTA_GATEWAY=169.254.0.1')) expect(item).toMatchObject({ legs: [{ ifindex: Number(/RTA_OIF=(\d+)/.exec(line)![1]), linkLocal: undefined }] });
      } else if (type === 'RTM_NEWROUTE') {
        expect(item).toEqual({ kind: 'ignored', reason: 'ipv6-route' });
      } else if (type === 'RTM_DELROUTE') {
        expect(item).toMatchObject(family === 'AF_INET' ? { kind: 'route-del', prefix: { key: `${dst}/${len}` } } : { kind: 'ignored' });
      } else if (type === 'RTM_NEWNEXTHOP') {
        expect(item).toMatchObject({ kind: 'nexthop-add', id: Number(/NHA_ID=(\d+)/.exec(line)![1]) });
        const gw = /NHA_GATEWAY=(\S+)/.exec(line)?.[1];
        if (gw) expect(item).toMatchObject({ legs: [{ ifindex: Number(/NHA_OIF=(\d+)/.exec(line)![1]), linkLocal: gw }] });
      } else {
        expect(item.kind).toBe('nexthop-del');
      }
    });
  });

  it.each([
    // after announce/withdraw of 10.99.3.0/24, a MED change, a session down and up again
    ['classic/fpm-conn-1.bin', { '1000:10.99.1.1/32': 'h0%*', '1000:10.99.2.0/24': 'h0%*' }],
    // zebra stopped: it sends its deletes before the close
    ['classic/fpm-conn-2.bin', {}],
    // link down: zebra deletes both; link up: adds them again (linkdown-events.txt)
    ['classic/linkdown-fpm-conn.bin', { '1000:10.99.1.1/32': 'h0%*', '1000:10.99.2.0/24': 'h0%*' }],
    ['nhg/fpm-conn-1.bin', { '1000:10.99.1.1/32': 'h0%fe80::ff:fe00:101', '1000:10.99.2.0/24': 'h0%fe80::ff:fe00:101' }],
    ['ecmp/fpm-conn-1.bin', { '1000:10.99.1.1/32': 'h0%*,h1%*', '1000:10.99.2.0/24': 'h0%*,h1%*' }],
  ])('%s leaves the desired state %j', (file, want) => {
    const { state, session } = replay(decodeStream(readFileSync(join(FIXTURES, file))));
    expect(state).toEqual(want);
    expect(session.counters.malformed).toBe(0);
  });

  it('a frame split across TCP reads at every byte offset decodes the same', () => {
    for (const file of fixtureFiles()) {
      const bytes = readFileSync(join(FIXTURES, file));
      const whole = JSON.stringify(decodeStream(bytes));
      for (let at = 0; at <= bytes.length; at++) expect(JSON.stringify(decodeStream(bytes, at)), `${file} split at ${at}`).toBe(whole);
    }
  });
});

const GW = 0xa9fe0001;
const via = PEER_VIA;
const route = fpmRoute;
const frame = fpmFrame;

function nexthopMessage(w: MessageWriter, id: number, attrs: (w: MessageWriter) => void, family = 10): void {
  w.begin(104, 0x501, 0).u8(family).u8(0).u8(11).u8(0).u32(0);
  w.attrU32(1, id);
  attrs(w);
  w.end();
}

describe('FPM encodings FRR 8.4 does not send', () => {
  it('RTA_VIA inline (FRR >= 10.6), in a VRF table above 255', () => {
    const items = decodeStream(frame((w) => writeNewRoute(w, 0, route([{ ifindex: 2, via6: via, flags: 0 }], { table: 1001 }), 'replace', false)));
    expect(replay(items).state).toEqual({ '1001:10.0.0.0/24': 'h0%fe80::101' });
  });

  it('ECMP with RTA_VIA legs', () => {
    const items = decodeStream(frame((w) => writeNewRoute(w, 0, route([{ ifindex: 2, via6: via, flags: RTNH_F_ONLINK }, { ifindex: 3, via6: via, flags: RTNH_F_ONLINK }]), 'replace', false)));
    expect(replay(items).state).toEqual({ '1000:10.0.0.0/24': 'h0%fe80::101,h1%fe80::101' });
  });

  it('nexthop groups, a late nexthop, and DEL+NEW in one frame', () => {
    const items = decodeStream(Buffer.concat([
      frame((w) => writeNewRoute(w, 0, route([], { nhId: 30 }), 'replace', false)), // group not there yet
      frame((w) => {
        nexthopMessage(w, 10, (x) => x.attrBytes(6, via).attrU32(5, 2));
        nexthopMessage(w, 11, (x) => x.attrBytes(6, via).attrU32(5, 3));
      }),
      frame((w) => nexthopMessage(w, 30, (x) => x.attrBytes(2, Buffer.from([10, 0, 0, 0, 0, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0])), 0)),
      frame((w) => {
        writeDelRoute(w, 0, route([]), false);
        writeNewRoute(w, 0, route([], { nhId: 10 }), 'replace', false);
      }),
    ]));
    const { state, session } = replay(items.slice(0, 1));
    expect(state).toEqual({});
    expect(session.pendingNexthopRoutes).toBe(1);
    expect(replay(items.slice(0, 4)).state).toEqual({ '1000:10.0.0.0/24': 'h0%fe80::101,h1%fe80::101' });
    const all = replay(items);
    expect(all.state).toEqual({ '1000:10.0.0.0/24': 'h0%fe80::101' });
    expect(all.session.pendingNexthopRoutes).toBe(0);
  });

  it('a route naming a nexthop id that never arrives stays pending', () => {
    const { state, session } = replay(decodeStream(frame((w) => writeNewRoute(w, 0, route([], { nhId: 99 }), 'replace', false))));
    expect(state).toEqual({});
    expect(session.pendingNexthopRoutes).toBe(1);
  });

  it('other protocols are counted and ignored', () => {
    const { state, session } = replay(decodeStream(frame((w) => writeNewRoute(w, 0, route([{ ifindex: 2, gateway: GW, flags: RTNH_F_ONLINK }], { protocol: 188 }), 'replace', false))));
    expect(state).toEqual({});
    expect(session.counters.ignored.protocol).toBe(1);
  });

  it('our own routes echoed back by zebra are ignored, adds and deletes alike (issue 11)', () => {
    const leg = [{ ifindex: 2, gateway: GW, flags: RTNH_F_ONLINK }];
    const items = decodeStream(Buffer.concat([
      frame((w) => writeNewRoute(w, 0, route(leg), 'replace', false)), // zebra's own bgp route in main
      // zebra learnt our table-1000 copy as a kernel route: after our replace it deletes the old one
      frame((w) => writeNewRoute(w, 0, route(leg, { protocol: 2, table: 1000 }), 'replace', false)),
      frame((w) => writeDelRoute(w, 0, route([], { protocol: 2, table: 1000 }), false)),
      frame((w) => writeDelRoute(w, 0, route([], { protocol: 2 }), false)), // a kernel route in main
      // even of a protocol we take, table 1000 is ours: zebra never writes there
      frame((w) => writeDelRoute(w, 0, route([], { protocol: 186, table: 1000 }), false)),
    ]));
    const { state, session } = replay(items);
    expect(state).toEqual({ '1000:10.0.0.0/24': 'h0%*' });
    expect(session.counters.ignored).toMatchObject({ protocol: 1, 'own-table': 3 });
    expect(session.counters.routesWithdrawn).toBe(0);
    // zebra's own delete of its bgp route still withdraws it
    const gone = replay([...items, ...decodeStream(frame((w) => writeDelRoute(w, 0, route([]), false)))]);
    expect(gone.state).toEqual({});
  });

  it('bad frame headers throw; a malformed message inside a good frame is skipped', () => {
    expect(() => new FpmFrameReader().push(Buffer.from([2, 1, 0, 20]))).toThrow(FpmFrameError);
    expect(() => new FpmFrameReader().push(Buffer.from([1, 9, 0, 20]))).toThrow(/type 9/);
    expect(() => new FpmFrameReader().push(Buffer.from([1, 1, 0, 3]))).toThrow(/length 3/);
    const good = frame((w) => writeNewRoute(w, 0, route([{ ifindex: 2, gateway: GW, flags: RTNH_F_ONLINK }]), 'replace', false));
    const bad = Buffer.from(good);
    bad.writeUInt16LE(500, 4 + 16 + 12); // an attribute overrunning its message
    const items = decodeStream(Buffer.concat([bad, good]));
    expect(items.map((i) => i.kind)).toEqual(['malformed', 'route-add']);
  });
});

describe('FPM fuzz', () => {
  it('100k random and mutated frames: nothing escapes, memory stays bounded', () => {
    let seed = 5549;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    const corpus = fixtureFiles().map((f) => readFileSync(join(FIXTURES, f)));
    const heap0 = process.memoryUsage().heapUsed;
    let frames = 0;
    let reader = new FpmFrameReader();
    const session = new FpmSession('fuzz', { protocols: new Set([186]), mainTable: 254, ifname: () => 'h0' }, { add: () => {}, withdraw: () => {} });
    for (let i = 0; i < 100_000; i++) {
      let b: Buffer;
      if (i % 2 === 0) {
        const src = corpus[rnd(corpus.length)]!;
        b = Buffer.from(src);
        for (let m = rnd(8); m >= 0; m--) b[rnd(b.length)] = rnd(256); // mutate a few bytes
        b = b.subarray(0, rnd(b.length + 1));
      } else {
        b = Buffer.from(Array.from({ length: rnd(120) }, () => rnd(256)));
        if (b.length >= 4) { b[0] = 1; b[1] = 1; b.writeUInt16BE(Math.max(20, b.length), 2); }
      }
      try {
        for (const payload of reader.push(b)) {
          frames++;
          for (const item of decodeFpmFrame(payload)) session.handle(item);
        }
      } catch (err) {
        expect(err).toBeInstanceOf(FpmFrameError); // the connection would close
        reader = new FpmFrameReader();
      }
      expect(reader.buffered).toBeLessThanOrEqual(0xffff);
    }
    expect(frames).toBeGreaterThan(10_000);
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(64 << 20);
  });
});
