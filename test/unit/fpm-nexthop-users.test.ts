// The columnar index of routes by nexthop id (nexthop-users.ts) on its own, and through the
// session: a nexthop object that changes re-resolves exactly the routes naming it, whatever
// moved, was deleted or left for legs of its own before (issue 14 replaced Maps keyed by
// route text with it).
import { describe, expect, it } from 'vitest';
import { makePrefix } from '../../src/model/ipv4-prefix.js';
import type { LinkLocal } from '../../src/model/link-local.js';
import { routeKey, type DesiredRoute } from '../../src/rib/route.js';
import type { FpmItem } from '../../src/sources/fpm/fpm-decode.js';
import { FpmSession, MAX_NEXTHOP_IDS, type PendingEpisode } from '../../src/sources/fpm/fpm-session.js';
import { NexthopUsers } from '../../src/sources/fpm/nexthop-users.js';

/** a small seeded generator (mulberry32), so a failure replays */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const slotsOf = (u: NexthopUsers, id: number): string[] => [...u.routesOf(id)].map((s) => `${u.table(s)}:${u.addr(s).toString(16)}/${u.len(s)}`);

describe('NexthopUsers, the index alone', () => {
  it('(table, addr, len) is the key: the same address in another table or length is another route', () => {
    const u = new NexthopUsers();
    const a = u.use(1000, 0x0a000000, 24, 7);
    const b = u.use(1001, 0x0a000000, 24, 7);
    const c = u.use(1000, 0x0a000000, 32, 7);
    expect(new Set([a, b, c]).size).toBe(3);
    expect([u.find(1000, 0x0a000000, 24), u.find(1001, 0x0a000000, 24), u.find(1000, 0x0a000000, 32)]).toEqual([a, b, c]);
    expect(u.find(1000, 0x0a000100, 24)).toBe(-1);
    expect(u.live).toBe(3);
  });

  it('an id lists its routes in arrival order; a repeat keeps its place, a move goes to the end of the new id', () => {
    const u = new NexthopUsers();
    for (let i = 0; i < 4; i++) u.use(1000, 0x0a000000 + i, 32, 1);
    u.use(1000, 0x0a000001, 32, 1); // zebra re-sends it unchanged
    expect(slotsOf(u, 1)).toEqual(['1000:a000000/32', '1000:a000001/32', '1000:a000002/32', '1000:a000003/32']);
    u.use(1000, 0x0a000009, 32, 2);
    u.use(1000, 0x0a000001, 32, 2); // moved from id 1 to id 2
    expect(slotsOf(u, 1)).toEqual(['1000:a000000/32', '1000:a000002/32', '1000:a000003/32']);
    expect(slotsOf(u, 2)).toEqual(['1000:a000009/32', '1000:a000001/32']);
    expect([u.countOf(1), u.countOf(2), u.countOf(3)]).toEqual([3, 2, 0]);
    expect(u.live).toBe(5);
  });

  it('a released route is found nowhere, and its slot is used again', () => {
    const u = new NexthopUsers();
    const s = u.use(1000, 0x0a000000, 24, 1);
    u.use(1000, 0x0a000100, 24, 1);
    u.release(s);
    expect(u.find(1000, 0x0a000000, 24)).toBe(-1);
    expect(slotsOf(u, 1)).toEqual(['1000:a000100/24']);
    expect(u.use(1000, 0x0a000200, 24, 3)).toBe(s);
    u.release(u.find(1000, 0x0a000100, 24));
    expect(u.countOf(1)).toBe(0);
    expect([...u.routesOf(1)]).toEqual([]);
  });

  it('agrees with a Map model over 200k random adds, moves and releases, through growth of slots and index', () => {
    const u = new NexthopUsers(4);
    const model = new Map<string, number>(); // "table:addr/len" -> id
    const rand = prng(14);
    // few addresses and lengths, so keys repeat, collide in the index and are released often
    for (let op = 0; op < 200_000; op++) {
      const table = rand() < 0.9 ? 1000 : 5549;
      const addr = (0x0a000000 + Math.floor(rand() * 40_000) * 256) >>> 0;
      const len = rand() < 0.8 ? 24 : 32;
      const key = `${table}:${addr}/${len}`;
      if (rand() < 0.3) {
        const s = u.find(table, addr, len);
        expect(s >= 0).toBe(model.has(key));
        if (s >= 0) u.release(s);
        model.delete(key);
      } else {
        const id = 1 + Math.floor(rand() * 50);
        const s = u.use(table, addr, len, id);
        expect(u.nhId(s)).toBe(id);
        model.set(key, id);
      }
    }
    expect(u.live).toBe(model.size);
    const byId = new Map<number, Set<string>>();
    for (const [key, id] of model) {
      if (!byId.has(id)) byId.set(id, new Set());
      byId.get(id)!.add(key);
    }
    for (let id = 1; id <= 50; id++) {
      const listed = [...u.routesOf(id)].map((s) => `${u.table(s)}:${u.addr(s)}/${u.len(s)}`);
      expect(new Set(listed)).toEqual(byId.get(id) ?? new Set());
      expect(listed).toHaveLength(u.countOf(id));
    }
    for (const key of model.keys()) {
      const [, table, addr, len] = /^(\d+):(\d+)\/(\d+)$/.exec(key)!;
      expect(u.find(Number(table), Number(addr), Number(len))).toBeGreaterThanOrEqual(0);
    }
  });

  it('pending routes keep the order they first waited in, take a new reason in place, and go with their release', () => {
    const u = new NexthopUsers();
    const [a, b, c] = [0, 1, 2].map((i) => u.use(1000, 0x0a000000 + i, 32, 9));
    u.setPending(a!, 'reason 1');
    u.setPending(b!, 'reason 1');
    u.setPending(c!, 'reason 2');
    u.setPending(a!, 'reason 3');
    expect([...u.pendingSlots()].map((s) => [s, u.reason(s)])).toEqual([[a, 'reason 3'], [b, 'reason 1'], [c, 'reason 2']]);
    expect(u.clearPending(b!)).toBe(true);
    expect(u.clearPending(b!)).toBe(false);
    u.release(c!);
    expect(u.pendingCount).toBe(1);
    expect(u.isPending(a!)).toBe(true);
    // reasons no route gives any more are dropped; a new one is told apart from them
    u.setPending(u.use(1000, 0x0a000010, 32, 9), 'reason 4');
    expect([...u.pendingSlots()].map((s) => u.reason(s))).toEqual(['reason 3', 'reason 4']);
  });
});

const LL = 'fe80::ff:fe00:101' as LinkLocal;
const LL2 = 'fe80::ff:fe00:102' as LinkLocal;
const single = (id: number, ifindex = 2, linkLocal = LL): FpmItem => ({ kind: 'nexthop-add', id, legs: [{ ifindex, linkLocal }], group: undefined });
const group = (id: number, members: number[]): FpmItem => ({ kind: 'nexthop-add', id, legs: undefined, group: members });
const prefixOf = (i: number) => makePrefix((0x0a000000 + i * 256) >>> 0, 24);
const routeByNh = (i: number, nhId: number, table = 254): FpmItem => ({ kind: 'route-add', table, prefix: prefixOf(i), protocol: 186, legs: [], nhId });
const routeWithLegs = (i: number): FpmItem => ({ kind: 'route-add', table: 254, prefix: prefixOf(i), protocol: 186, legs: [{ ifindex: 4, linkLocal: LL }], nhId: undefined });
const routeDel = (i: number): FpmItem => ({ kind: 'route-del', table: 254, prefix: prefixOf(i), protocol: 186 });

/** a session whose sink records every add and withdrawal, and the final state "key -> dev%peer" */
function session() {
  const state = new Map<string, string>();
  const adds: string[] = [];
  const withdrawals: string[] = [];
  const episodes: PendingEpisode[] = [];
  const s = new FpmSession('fpm#1', { protocols: new Set([186]), mainTable: 5549, ifname: (i) => `h${i}` }, {
    add: (_s, r: DesiredRoute) => {
      const key = routeKey(r.table, r.prefix.key);
      adds.push(key);
      state.set(key, r.nexthops.map((n) => `${n.interface}%${n.linkLocal ?? '*'}`).join(','));
    },
    withdraw: (t, p) => {
      withdrawals.push(routeKey(t, p.key));
      state.delete(routeKey(t, p.key));
    },
  }, (e) => episodes.push(e));
  const take = () => {
    const out = { adds: [...adds], withdrawals: [...withdrawals] };
    adds.length = 0;
    withdrawals.length = 0;
    return out;
  };
  return { s, state, episodes, take };
}

const key = (i: number) => `5549:${prefixOf(i).key}`;

describe('a changed nexthop object re-resolves exactly its routes', () => {
  it('replaced: the routes of that id, in the order zebra sent them, and none of another id', () => {
    const { s, state, take } = session();
    for (const it of [single(1), single(2), routeByNh(0, 1), routeByNh(1, 2), routeByNh(2, 1), routeByNh(3, 2)]) s.handle(it);
    take();
    s.handle(single(1, 3, LL2));
    expect(take()).toEqual({ adds: [key(0), key(2)], withdrawals: [] });
    expect(Object.fromEntries(state)).toEqual({ [key(0)]: `h3%${LL2}`, [key(1)]: `h2%${LL}`, [key(2)]: `h3%${LL2}`, [key(3)]: `h2%${LL}` });
  });

  it('a route moved to another id follows the new one only', () => {
    const { s, state, take } = session();
    for (const it of [single(1), single(2), routeByNh(0, 1), routeByNh(1, 1), routeByNh(0, 2)]) s.handle(it);
    take();
    s.handle(single(1, 3));
    expect(take().adds).toEqual([key(1)]);
    s.handle(single(2, 4));
    expect(take().adds).toEqual([key(0)]);
    expect(state.get(key(0))).toBe(`h4%${LL}`);
  });

  it('a deleted route, or one that now carries legs of its own, is not brought back or changed by its old id', () => {
    const { s, state, take } = session();
    for (const it of [single(1), routeByNh(0, 1), routeByNh(1, 1), routeByNh(2, 1), routeDel(0), routeWithLegs(1)]) s.handle(it);
    take();
    s.handle(single(1, 3));
    expect(take()).toEqual({ adds: [key(2)], withdrawals: [] });
    expect(Object.fromEntries(state)).toEqual({ [key(1)]: `h4%${LL}`, [key(2)]: `h3%${LL}` });
  });

  it('deleted (RTM_DELNEXTHOP), then announced again: its routes take the new announcement', () => {
    const { s, state, take } = session();
    for (const it of [single(1), routeByNh(0, 1), routeByNh(1, 1)]) s.handle(it);
    s.handle({ kind: 'nexthop-del', id: 1 });
    expect(s.nexthopIds).toBe(0);
    take();
    // zebra moves a route off an object before deleting it: one still naming it waits for it
    s.handle(routeByNh(1, 1));
    expect(take()).toEqual({ adds: [], withdrawals: [key(1)] });
    expect(s.pendingNexthopRoutes).toBe(1);
    s.handle(single(1, 5));
    expect(take().adds).toEqual([key(0), key(1)]);
    expect(Object.fromEntries(state)).toEqual({ [key(0)]: `h5%${LL}`, [key(1)]: `h5%${LL}` });
    expect(s.pendingNexthopRoutes).toBe(0);
  });

  it('a member that changes re-resolves the routes of the groups listing it, and of no other group', () => {
    const { s, state, take } = session();
    for (const it of [single(1), single(2), single(3), group(100, [1, 2]), group(200, [3]), routeByNh(0, 100), routeByNh(1, 200), routeByNh(2, 2)]) s.handle(it);
    take();
    s.handle(single(2, 7));
    expect(take().adds).toEqual([key(2), key(0)]);
    expect(state.get(key(0))).toBe(`h2%${LL},h7%${LL}`);
  });

  it('a refused re-announcement sends its routes to pending, and a good one brings them back', () => {
    const refusedIds: number[] = [];
    const { s, state, take } = session();
    const s2 = new FpmSession('fpm#2', { protocols: new Set([186]), mainTable: 5549, ifname: (i) => `h${i}` }, { add: () => {}, withdraw: () => {} }, undefined, (id) => refusedIds.push(id));
    for (const it of [single(1), single(2), group(100, [1]), routeByNh(0, 100), routeByNh(1, 100)]) {
      s.handle(it);
      s2.handle(it);
    }
    take();
    s.handle(group(1, [2])); // a member turned into a group: group 100 is nested now
    s2.handle(group(1, [2]));
    expect(take()).toEqual({ adds: [], withdrawals: [key(0), key(1)] });
    expect([...s.pendingRoutes()].map((p) => p.prefix.key)).toEqual([prefixOf(0).key, prefixOf(1).key]);
    s.handle(single(1, 6));
    expect(take().adds).toEqual([key(0), key(1)]);
    expect(state.size).toBe(2);
    expect(s.pendingNexthopRoutes).toBe(0);
    // the id cap still holds with routes on the ids
    for (let id = 3; id <= MAX_NEXTHOP_IDS + 1; id++) s2.handle(single(id));
    expect(s2.nexthopIds).toBe(MAX_NEXTHOP_IDS);
    expect(refusedIds.at(-1)).toBe(MAX_NEXTHOP_IDS + 1);
  });

  it('pending routes deleted or given legs end the episode; only the resolved ones count as resolved', () => {
    const { s, episodes } = session();
    for (const it of [routeByNh(0, 40), routeByNh(1, 40), routeByNh(2, 41, 1000)]) s.handle(it);
    expect([...s.pendingRoutes()].map((p) => [p.table, p.prefix.key, p.nhId])).toEqual([[5549, prefixOf(0).key, 40], [5549, prefixOf(1).key, 40], [1000, prefixOf(2).key, 41]]);
    s.handle(routeDel(0));
    s.handle(routeWithLegs(1));
    expect(s.pendingNexthopRoutes).toBe(1);
    s.handle({ kind: 'route-unusable', table: 1000, prefix: prefixOf(2), protocol: 186, reason: 'not-unicast' });
    expect(episodes).toEqual([
      { state: 'begin', key: key(0), nhId: 40, reason: expect.stringMatching(/^zebra sent no nexthop object 40: /) as unknown },
      { state: 'end', resolved: 1 },
    ]);
  });
});
