// Nexthop objects over FPM under hostile sizes (issue 12) and ids that never arrive (issue 11
// item 5). Costs are asserted as counts of bookkeeping steps (FpmSession.operations), never as
// time: the sizes are the issue's, which took 4 to 50 s before the reverse indexes.
import { describe, expect, it } from 'vitest';
import { makePrefix } from '../../src/model/ipv4-prefix.js';
import type { LinkLocal } from '../../src/model/link-local.js';
import { routeKey, type DesiredRoute } from '../../src/rib/route.js';
import type { FpmItem } from '../../src/sources/fpm/fpm-decode.js';
import { FpmSession, MAX_GROUP_MEMBERS, MAX_NEXTHOP_IDS, type PendingEpisode } from '../../src/sources/fpm/fpm-session.js';

const LL = 'fe80::ff:fe00:101' as LinkLocal;
const single = (id: number, ifindex = 2): FpmItem => ({ kind: 'nexthop-add', id, legs: [{ ifindex, linkLocal: LL }], group: undefined });
const group = (id: number, members: number[]): FpmItem => ({ kind: 'nexthop-add', id, legs: undefined, group: members });
const routeByNh = (i: number, nhId: number): FpmItem => ({ kind: 'route-add', table: 254, prefix: makePrefix((0x0a000000 + i * 256) >>> 0, 24), protocol: 186, legs: [], nhId });

function session() {
  const state = new Map<string, DesiredRoute>();
  const episodes: PendingEpisode[] = [];
  const refused: string[] = [];
  const s = new FpmSession('fpm#1', { protocols: new Set([186]), mainTable: 5549, ifname: (i) => `h${i}` }, {
    add: (_s, r) => state.set(routeKey(r.table, r.prefix.key), r),
    withdraw: (t, p) => state.delete(routeKey(t, p.key)),
  }, (e) => episodes.push(e), (_id, error) => refused.push(error));
  return { s, state, episodes, refused };
}

describe('nexthop groups', () => {
  it('a group whose member is a group is refused, and its routes say why', () => {
    const { s, state, refused } = session();
    for (const it of [single(1, 2), single(2, 3), group(100, [1, 2]), group(200, [100, 1]), routeByNh(1, 100), routeByNh(2, 200)]) s.handle(it);
    expect([...state.keys()]).toEqual(['5549:10.0.1.0/24']);
    expect(s.counters.nexthopsRefused).toBe(1);
    expect(refused).toEqual(['nexthop group 200 has member 100, itself a group: nested groups are not supported (the kernel has none either)']);
    expect([...s.pendingRoutes()]).toEqual([{ table: 5549, prefix: makePrefix(0x0a000200, 24), nhId: 200, reason: refused[0] }]);
  });

  it('a member that turns into a group later makes its groups unusable too', () => {
    const { s, state } = session();
    for (const it of [single(1), single(2), group(100, [1, 2]), routeByNh(1, 100)]) s.handle(it);
    expect(state.size).toBe(1);
    s.handle(group(2, [1]));
    expect(state.size).toBe(0);
    expect([...s.pendingRoutes()][0]?.reason).toMatch(/^nexthop group 100 has member 2, itself a group: nested groups are not supported/);
  });

  it('the issue\'s 8000 x 8000 nested bomb is refused at the group cap, in a bounded number of steps', () => {
    const { s, state, refused } = session();
    const members = Array.from({ length: 8000 }, (_, i) => i + 1);
    for (const id of members) s.handle(single(id));
    s.handle(group(100_000, members));
    s.handle(group(100_001, Array.from({ length: 8000 }, () => 100_000)));
    s.handle(routeByNh(1, 100_001));
    expect(state.size).toBe(0);
    expect(refused).toEqual([
      `nexthop group 100000: 8000 members, more than the cap of ${MAX_GROUP_MEMBERS} (no route may carry more legs); refused`,
      `nexthop group 100001: 8000 members, more than the cap of ${MAX_GROUP_MEMBERS} (no route may carry more legs); refused`,
    ]);
    expect(s.operations).toBeLessThan(10_000);
  });

  it('a group that grows past the cap is refused and its routes go pending; nothing stale stays', () => {
    const { s, state, refused } = session();
    const members = Array.from({ length: MAX_GROUP_MEMBERS + 1 }, (_, i) => i + 1);
    for (const id of members) s.handle(single(id));
    s.handle(group(100, [1, 2]));
    s.handle(routeByNh(0, 100));
    expect(state.size).toBe(1);
    s.handle(group(100, members));
    expect(refused).toHaveLength(1);
    expect(state.size).toBe(0);
    expect(s.pendingNexthopRoutes).toBe(1);
  });

  it(`ids beyond ${MAX_NEXTHOP_IDS} per connection are refused, naming the cap`, () => {
    const { s, refused } = session();
    for (let id = 1; id <= MAX_NEXTHOP_IDS + 1; id++) s.handle(single(id));
    expect(s.nexthopIds).toBe(MAX_NEXTHOP_IDS);
    expect(refused).toEqual([`nexthop ${MAX_NEXTHOP_IDS + 1}: this connection already holds ${MAX_NEXTHOP_IDS} nexthop ids (the cap per connection); refused`]);
    s.handle(single(1, 3)); // a known id may still change
    expect(refused).toHaveLength(1);
  });
});

describe('nexthop bookkeeping is O(1) per id and O(legs) per route', () => {
  it('20k ids x 100k routes, then every route moved to another id (50 s before)', () => {
    const { s, state } = session();
    const ids = 20_000;
    const routes = 100_000;
    for (let id = 1; id <= ids; id++) s.handle(single(id));
    for (let i = 0; i < routes; i++) s.handle(routeByNh(i, (i % ids) + 1));
    for (let i = 0; i < routes; i++) s.handle(routeByNh(i, ((i + 1) % ids) + 1));
    for (let i = 0; i < routes; i += 2) s.handle({ kind: 'route-del', table: 254, prefix: makePrefix((0x0a000000 + i * 256) >>> 0, 24), protocol: 186 });
    expect(state.size).toBe(routes / 2);
    // one leg per route add: a constant number of steps per message, not per id
    expect(s.operations).toBeLessThanOrEqual(2 * routes + ids);
  });

  it('50k group announcements over 200 shared members, and the members changing (16.8 s before)', () => {
    const { s, state } = session();
    for (let id = 1; id <= 200; id++) s.handle(single(id));
    const groups = 50_000;
    for (let g = 0; g < groups; g++) s.handle(group(1000 + g, [(g % 200) + 1, ((g + 1) % 200) + 1]));
    for (let g = 0; g < 1000; g++) s.handle(routeByNh(g, 1000 + g));
    const before = s.operations;
    for (let id = 1; id <= 200; id++) s.handle(single(id, 3)); // every member moves interface
    expect(state.size).toBe(1000);
    expect([...state.values()].every((r) => r.nexthops.every((n) => n.interface === 'h3'))).toBe(true);
    // each member refreshes only the groups listing it (2 x 50k / 200 = 500 each) and their routes
    expect(s.operations - before).toBeLessThanOrEqual(200 * 500 + 2 * 1000 * 3 + 1000);
    expect(s.operations).toBeLessThanOrEqual(groups * 2 + 200 * 500 + 1000 * 10);
  });

  it('an unchanged re-announcement re-resolves nothing', () => {
    const { s } = session();
    s.handle(single(1));
    for (let i = 0; i < 10_000; i++) s.handle(routeByNh(i, 1));
    const before = s.operations;
    for (let k = 0; k < 1000; k++) s.handle(single(1));
    expect(s.operations).toBe(before);
  });
});

describe('nexthop ids zebra never sends (no zebra nexthop kernel enable)', () => {
  it('routes are listed pending with the id and what to do; one episode, not one warning per route', () => {
    const { s, state, episodes } = session();
    for (let i = 0; i < 3; i++) s.handle(routeByNh(i, 40 + i));
    expect(state.size).toBe(0);
    expect(s.pendingNexthopRoutes).toBe(3);
    const pending = [...s.pendingRoutes()];
    expect(pending.map((p) => [p.table, p.prefix.key, p.nhId])).toEqual([[5549, '10.0.0.0/24', 40], [5549, '10.0.1.0/24', 41], [5549, '10.0.2.0/24', 42]]);
    expect(pending[0]!.reason).toBe('zebra sent no nexthop object 40: enable zebra\'s kernel nexthops ("zebra nexthop kernel enable") or use "no fpm use-next-hop-groups"');
    expect(episodes).toEqual([{ state: 'begin', key: '5549:10.0.0.0/24', nhId: 40, reason: pending[0]!.reason }]);
    for (let i = 0; i < 3; i++) s.handle(single(40 + i));
    expect(state.size).toBe(3);
    expect(s.pendingNexthopRoutes).toBe(0);
    expect(episodes.at(-1)).toEqual({ state: 'end', resolved: 3 });
    expect(episodes).toHaveLength(2);
  });

  it('a group whose member is missing names the member', () => {
    const { s } = session();
    s.handle(single(1));
    s.handle(group(100, [1, 7]));
    s.handle(routeByNh(0, 100));
    expect([...s.pendingRoutes()][0]?.reason).toMatch(/^nexthop group 100 names member 7, and zebra sent no nexthop object 7: /);
  });
});
