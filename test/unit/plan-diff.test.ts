// `rfc5549d plan`'s diff: two pictures of what is ours (the real kernel's, the dry run's
// fake) in, install / change / remove items with reasons out. Pure, no kernel.
import { describe, expect, it } from 'vitest';
import { AF_INET, NUD_NOARP, NUD_PERMANENT, RTN_THROW, RTN_UNICAST, RTNH_F_LINKDOWN, RTNH_F_ONLINK, type KernelRoute } from '../../src/kernel/rtnetlink-codec.js';
import type { KernelPicture } from '../../src/dry-run/kernel-picture.js';
import { desiredKey, formatPlanItem, placeholderOwnerKey, planDiff, type PlanContext } from '../../src/dry-run/plan-diff.js';
import { ipv4ToBytes, ipv4ToNumber } from '../../src/model/ipv4-prefix.js';
import { formatPlan } from '../../src/cli/format-plan.js';

const P = 200;
const T = 5549;
const H0 = 2;
const ip = (s: string): number => ipv4ToNumber(s)!;
const bytes = (s: string): Buffer => ipv4ToBytes(ip(s));
const route = (dst: string, len: number, gw: string, extra: Partial<KernelRoute> = {}): KernelRoute => ({
  table: T, dst: ip(dst), dstLen: len, protocol: P, metric: 0, type: RTN_UNICAST, legs: [{ ifindex: H0, gateway: ip(gw), flags: RTNH_F_ONLINK }], ...extra,
});
const neigh = (gw: string, mac: string) => ({ family: AF_INET, ifindex: H0, state: NUD_PERMANENT, flags: 0, dst: bytes(gw), lladdr: Buffer.from(mac.replaceAll(':', ''), 'hex'), protocol: P });
const picture = (p: Partial<KernelPicture>): KernelPicture => ({ links: [{ ifindex: H0, name: 'h0' }], routes: [], neighbours: [], rules: [], nexthops: [], ...p });
const ctx: PlanContext = {
  protocol: P,
  desired: new Map([
    [desiredKey(T, '10.1.0.0/24'), { source: 'fpm#1' }],
    [desiredKey(T, '10.2.0.0/24'), { source: 'jsonl#3' }],
    [desiredKey(T, '10.4.0.0/24'), { source: 'jsonl#3', pending: 'peer fe80::1%h0: no MAC known' }],
  ]),
  placeholders: new Map([[placeholderOwnerKey('h0', '169.254.0.1'), { linkLocal: 'fe80::ff:fe00:101', mac: '02:00:00:00:01:01', evidence: 'eui64' }]]),
};

describe('planDiff', () => {
  it('install, change and remove of routes, each with its reason, and one line each as an operator reads them', () => {
    const real = picture({ routes: [route('10.2.0.0', 24, '169.254.0.9'), route('10.3.0.0', 24, '169.254.0.1'), route('10.4.0.0', 24, '169.254.0.1')] });
    const fake = picture({ routes: [route('10.1.0.0', 24, '169.254.0.1'), route('10.2.0.0', 24, '169.254.0.1')] });
    const items = planDiff(real, fake, ctx);
    expect(items.map(formatPlanItem)).toEqual([
      'install route 10.1.0.0/24 table 5549 via 169.254.0.1 dev h0 onlink  (desired by fpm#1)',
      'change route 10.2.0.0/24 table 5549  (kernel has via 169.254.0.9 dev h0 onlink; want via 169.254.0.1 dev h0 onlink; desired by jsonl#3)',
      'remove route 10.3.0.0/24 table 5549 via 169.254.0.1 dev h0 onlink  (ours by protocol 200, no source wants it)',
      'remove route 10.4.0.0/24 table 5549 via 169.254.0.1 dev h0 onlink  (ours by protocol 200; desired by jsonl#3 but pending: peer fe80::1%h0: no MAC known)',
    ]);
    expect(items[1]).toMatchObject({ action: 'change', object: 'route', table: T, prefix: '10.2.0.0/24', kernel: '10.2.0.0/24 table 5549 via 169.254.0.9 dev h0 onlink', want: '10.2.0.0/24 table 5549 via 169.254.0.1 dev h0 onlink' });
  });

  it('the same objects on both sides are no item; the kernel\'s linkdown flag and a neighbour\'s state bits other than permanent are not a change', () => {
    const r = route('10.1.0.0', 24, '169.254.0.1');
    const down = { ...r, legs: [{ ...r.legs[0]!, flags: RTNH_F_ONLINK | RTNH_F_LINKDOWN }] };
    const n = neigh('169.254.0.1', '02:00:00:00:01:01');
    expect(planDiff(picture({ routes: [down], neighbours: [{ ...n, state: NUD_PERMANENT | NUD_NOARP }] }), picture({ routes: [r], neighbours: [n] }), ctx)).toEqual([]);
  });

  it('routes at another metric or tos are other routes; multipath, RTA_VIA and nexthop-id forms are told apart', () => {
    const a = route('10.1.0.0', 24, '169.254.0.1');
    const twoLegs = { ...a, legs: [...a.legs, { ifindex: 3, gateway: ip('169.254.0.1'), flags: RTNH_F_ONLINK }] };
    const via6 = { ...a, legs: [{ ifindex: H0, via6: Buffer.from('fe80000000000000000000fffe000101', 'hex'), flags: 0 }] };
    const items = planDiff(picture({ routes: [a, { ...a, metric: 20 }] }), picture({ routes: [twoLegs, { ...via6, metric: 30 }, { ...a, nhId: 7, legs: [], tos: 4 }] }), ctx);
    expect(items.map((i) => `${i.action} ${i.key}: ${i.want ?? i.kernel}`)).toEqual([
      'change 10.1.0.0/24 table 5549: 10.1.0.0/24 table 5549 nexthop via 169.254.0.1 dev h0 onlink nexthop via 169.254.0.1 dev if#3 onlink',
      'remove 10.1.0.0/24 table 5549 metric 20: 10.1.0.0/24 table 5549 metric 20 via 169.254.0.1 dev h0 onlink',
      'install 10.1.0.0/24 table 5549 metric 30: 10.1.0.0/24 table 5549 metric 30 via inet6 fe80::ff:fe00:101 dev h0',
      'install 10.1.0.0/24 table 5549 tos 4: 10.1.0.0/24 table 5549 tos 4 nhid 7',
    ]);
  });

  it('throws, placeholder neighbours, the rule and nexthop objects, in that order after rules and neighbours', () => {
    const thr = { ...route('10.1.0.128', 25, '0.0.0.0'), type: RTN_THROW, legs: [] };
    const real = picture({
      neighbours: [neigh('169.254.0.1', '02:00:00:00:09:09'), neigh('169.254.0.2', '02:00:00:00:01:02')],
      routes: [{ ...thr, dst: ip('10.9.0.128') }],
      nexthops: [{ id: 9, family: AF_INET, flags: RTNH_F_ONLINK, protocol: P, oif: H0, gateway: bytes('169.254.0.1'), blackhole: false }],
    });
    const fake = picture({
      neighbours: [neigh('169.254.0.1', '02:00:00:00:01:01')],
      routes: [thr],
      rules: [{ family: AF_INET, priority: 5549, table: T, action: 1, protocol: P, selective: false }],
    });
    expect(planDiff(real, fake, ctx).map(formatPlanItem)).toEqual([
      'install rule pref 5549 lookup 5549  (puts table 5549 ahead of main (kernel.rule-priority))',
      'change neighbour 169.254.0.1 dev h0  (kernel has lladdr 02:00:00:00:09:09; want 02:00:00:00:01:01; placeholder for fe80::ff:fe00:101%h0, MAC from eui64)',
      'remove neighbour 169.254.0.2 dev h0 lladdr 02:00:00:00:01:02 permanent  (ours by protocol 200, no route of ours names it)',
      'remove nexthop id 9 via 169.254.0.1 dev h0 onlink  (ours by protocol 200, no route of ours uses it)',
      'install throw throw 10.1.0.128/25 table 5549  (main holds a more specific route inside one of ours: the throw keeps longest match across the two tables)',
      'remove throw throw 10.9.0.128/25 table 5549  (ours by protocol 200; main no longer shadows a route of ours there)',
    ]);
  });
});

describe('formatPlan', () => {
  const empty = { dryRun: true as const, sweepAllowed: true, items: [], pending: [], counts: { install: 0, change: 0, remove: 0, pending: 0 }, unlisted: { items: 0, pending: 0 } };
  it('says when nothing would be written, when leftovers are not judged yet, and what is counted but not listed', () => {
    expect(formatPlan(empty)).toBe('plan: 0 to install, 0 to change, 0 to remove; 0 routes pending\nnothing to write: the kernel holds what the sources want');
    const early = formatPlan({ ...empty, sweepAllowed: false, counts: { ...empty.counts, install: 10_002 }, unlisted: { items: 2, pending: 0 },
      items: [{ action: 'install', object: 'rule', key: 'pref 5549 lookup 5549', kernel: null, want: 'pref 5549 lookup 5549', reason: 'r' }] });
    expect(early.split('\n')).toEqual([
      'plan: 10002 to install, 0 to change, 0 to remove; 0 routes pending',
      '(sources not synced yet: leftovers of ours are judged once they have, or after graceful.stale-time)',
      'install rule pref 5549 lookup 5549  (r)',
      '… and 2 items and 0 pending routes more, counted above but not listed',
    ]);
  });
});
