// kernel.nexthop-objects planning: one object per leg, a group per ECMP set, ids kept for
// the same leg across a restart, deletes only of ours that nothing uses.
import { describe, expect, it } from 'vitest';
import { MessageWriter, splitMessages } from '../../src/kernel/netlink-codec.js';
import { decodeNexthopObject, RTNH_F_ONLINK, writeNexthop, type NexthopObject, type RouteLeg } from '../../src/kernel/rtnetlink-codec.js';
import { checkKernelMode } from '../../src/kernel/kernel-version.js';
import { asHeld, NexthopObjects, NH_ID_BASE } from '../../src/reconcile/nexthop-objects.js';

const G = 0xa9fe0001;
const h0: RouteLeg = { ifindex: 2, gateway: G, flags: RTNH_F_ONLINK };
const h1: RouteLeg = { ifindex: 3, gateway: G, flags: RTNH_F_ONLINK };
const v6: RouteLeg = { ifindex: 4, via6: Buffer.from('fe80000000000000000000fffe000101', 'hex'), flags: 0 };

const ops = (p: { adds: unknown[]; deletes: unknown[] }) => ({
  adds: p.adds.map((o) => JSON.stringify(o)),
  deletes: p.deletes.map((o) => JSON.stringify(o)),
});

describe('nexthop objects', () => {
  it('encode and decode: a leg (IPv4 onlink, IPv6 link-local) and a group', () => {
    for (const nh of [{ id: 7, protocol: 186, leg: h0 }, { id: 8, protocol: 186, leg: v6 }, { id: 9, protocol: 186, group: [7, 8] }]) {
      const w = new MessageWriter();
      writeNexthop(w, 1, nh, 'replace', true);
      expect(decodeNexthopObject(splitMessages(w.take()).messages[0]!)).toEqual(asHeld(nh));
    }
  });

  it('one object per leg, a group per set; the kernel gets legs before groups, and nothing twice', () => {
    const held = new Map<number, NexthopObject>();
    const objs = new NexthopObjects(186, held);
    const single = objs.idFor([h0]);
    const ecmp = objs.idFor([h0, h1]);
    expect(objs.idFor([h1, h0])).toBe(ecmp);
    expect([single, ecmp]).toEqual([NH_ID_BASE, NH_ID_BASE + 2]);
    const plan = objs.plan(() => 0);
    expect(plan.adds.map((o) => (o.kind === 'nh.replace' ? ('group' in o.nexthop ? `group ${o.nexthop.group.join('/')}` : `leg ${o.nexthop.leg.ifindex}`) : o.kind))).toEqual(['leg 2', 'leg 3', `group ${NH_ID_BASE}/${NH_ID_BASE + 1}`]);
    for (const o of plan.adds) if (o.kind === 'nh.replace') held.set(o.nexthop.id, asHeld(o.nexthop));
    objs.idFor([h0, h1]);
    expect(ops(objs.plan(() => 0))).toEqual({ adds: [], deletes: [] }); // converged
  });

  it('skips ids others hold, takes ours back after a restart, and deletes only ours nothing uses', () => {
    const held = new Map<number, NexthopObject>([
      [NH_ID_BASE, { id: NH_ID_BASE, family: 2, flags: 0, protocol: 11, blackhole: false, oif: 9, gateway: Buffer.from([10, 0, 0, 1]) }], // zebra's
      [NH_ID_BASE + 5, asHeld({ id: NH_ID_BASE + 5, protocol: 186, leg: h1 })], // ours, from before
      [NH_ID_BASE + 6, asHeld({ id: NH_ID_BASE + 6, protocol: 186, leg: h0 })], // ours, unused now
    ]);
    const objs = new NexthopObjects(186, held);
    objs.adopt();
    expect(objs.idFor([h1])).toBe(NH_ID_BASE + 5);
    expect(objs.idFor([v6])).toBe(NH_ID_BASE + 7);
    const plan = objs.plan((id) => (id === NH_ID_BASE + 6 ? 0 : 1));
    expect(plan.adds).toHaveLength(1);
    expect(plan.deletes).toEqual([{ kind: 'nh.delete', id: NH_ID_BASE + 6 }]);
    for (const o of plan.adds) if (o.kind === 'nh.replace') held.set(o.nexthop.id, asHeld(o.nexthop));
    // a leg a kept group names stays, even with no route on it directly
    held.set(NH_ID_BASE + 8, asHeld({ id: NH_ID_BASE + 8, protocol: 186, group: [NH_ID_BASE + 5, NH_ID_BASE + 6] }));
    expect(objs.plan((id) => (id === NH_ID_BASE + 8 ? 3 : 0)).deletes.map((o) => (o.kind === 'nh.delete' ? o.id : 0))).toEqual([NH_ID_BASE + 7]);
    expect(objs.plan(() => 0).deletes.map((o) => (o.kind === 'nh.delete' ? o.id : 0))).toEqual([NH_ID_BASE + 8, NH_ID_BASE + 5, NH_ID_BASE + 6, NH_ID_BASE + 7]);
  });

  it('refuses to start below Linux 5.3', () => {
    expect(() => checkKernelMode('neighbor', '5.2.9', true)).toThrow(/kernel\.nexthop-objects: true needs Linux 5\.3 or later .* this kernel is 5\.2\.9/);
    expect(() => checkKernelMode('via', '5.3.0', true)).not.toThrow();
  });
});
