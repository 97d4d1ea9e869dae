import { describe, expect, it } from 'vitest';
import { Forwardings } from '../../src/kernel/forwardings.js';
import { RTNH_F_LINKDOWN, RTNH_F_ONLINK } from '../../src/kernel/rtnetlink-codec.js';
import { PLACEHOLDER_GATEWAY as G } from '../../src/model/placeholder.js';
import { NONE, RouteStore } from '../../src/rib/route-store.js';
import { xorshift32 } from '../helpers/seeded-random.js';

describe('route store', () => {
  it('agrees with a Map over 200,000 random adds and releases, tables above 2^31 and /0 included', () => {
    const store = new RouteStore(16);
    const ref = new Map<string, number>();
    const next = xorshift32(7);
    const keys: [number, number, number][] = [];
    for (let i = 0; i < 5000; i++) keys.push([[254, 1000, 0xfffffff0][next() % 3]!, next() & 0xffffff00, [0, 24, 32][next() % 3]!]);
    for (let step = 0; step < 200_000; step++) {
      const [t, a, l] = keys[next() % keys.length]!;
      const k = `${t}:${a}/${l}`;
      if (next() % 3 === 0) {
        const s = store.find(t, a, l);
        expect(s >= 0).toBe(ref.has(k));
        if (s >= 0) {
          store.setDesired(s, NONE);
          store.releaseIfUnused(s);
          ref.delete(k);
        }
      } else {
        const s = store.slotFor(t, a, l);
        store.setDesired(s, 1);
        ref.set(k, s);
      }
    }
    expect(store.live).toBe(ref.size);
    expect(store.desiredCount).toBe(ref.size);
    for (const [t, a, l] of keys) expect(store.find(t, a, l)).toBe(ref.get(`${t}:${a}/${l}`) ?? -1);
  });

  it('withdrawing everything leaves an empty, consistent index (deletes shift back)', () => {
    const store = new RouteStore();
    for (let i = 0; i < 100_000; i++) store.setDesired(store.slotFor(254, i << 8, 24), 1);
    for (let i = 0; i < 100_000; i++) {
      const s = store.find(254, i << 8, 24);
      store.setDesired(s, NONE);
      store.releaseIfUnused(s);
    }
    expect(store.live).toBe(0);
    // every lookup now ends at its first probe: an empty index entry
    for (let i = 0; i < 100_000; i++) expect(store.find(254, i << 8, 24)).toBe(-1);
  });

  it('a slot that is held, queued or pending is not released', () => {
    const store = new RouteStore();
    const s = store.slotFor(254, 0x0a000000, 8);
    store.setObserved(s, 3);
    store.releaseIfUnused(s);
    expect(store.find(254, 0x0a000000, 8)).toBe(s);
    store.setObserved(s, NONE);
    store.setPending(s, 2);
    store.releaseIfUnused(s);
    expect(store.isLive(s)).toBe(true);
    store.setPending(s, NONE);
    store.releaseIfUnused(s);
    expect(store.isLive(s)).toBe(false);
    expect(store.pendingCount).toBe(0);
  });
});

describe('forwardings', () => {
  it('one id per forwarding whatever the leg order and kernel-set flags', () => {
    const f = new Forwardings();
    const a = f.intern([{ ifindex: 3, gateway: G, flags: RTNH_F_ONLINK }, { ifindex: 2, gateway: G, flags: RTNH_F_ONLINK }]);
    const b = f.intern([{ ifindex: 2, gateway: G, flags: RTNH_F_ONLINK | RTNH_F_LINKDOWN }, { ifindex: 3, gateway: G, flags: RTNH_F_ONLINK }]);
    expect(b).toBe(a);
    expect(f.get(a).legs.map((l) => l.ifindex)).toEqual([2, 3]);
    expect(f.intern([{ ifindex: 2, gateway: G, flags: RTNH_F_ONLINK }])).not.toBe(a);
    f.count(a, 1);
    expect([f.routesVia(2, G), f.routesVia(3, G), f.routesVia(4, G), f.routesVia(2, G + 1)]).toEqual([1, 1, 0, 0]);
    f.count(a, -1);
    expect(f.routesVia(2, G)).toBe(0);
  });
});
