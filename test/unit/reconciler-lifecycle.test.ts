// Orchestration without root: the real Reconciler on the FakeKernel and a ManualClock.
// Burst mode, link flaps, adoption of what an earlier run left, and the NTF_USE prober.
// Each checks the fake's dump: our routes and neighbours as `ip -j route|neigh` would show.
import { afterEach, describe, expect, it } from 'vitest';
import { describePlan } from '../../src/reconcile/pass-plan.js';
import { PROBE_INTERVAL_MS } from '../../src/reconcile/prober.js';
import { BURST_END_MS } from '../../src/reconcile/scheduler.js';
import { RTNH_F_LINKDOWN } from '../../src/kernel/rtnetlink-codec.js';
import type { Mac } from '../../src/model/mac.js';
import { EUI_PEER_MAC, G1, H0, ourRoute, RANDOM_PEER, rig, ScenarioKernel, type Rig } from '../helpers/reconciler-rig.js';

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.reconciler.stop();
    await r.kernel.close();
  }
});

async function started(kernel?: ScenarioKernel): Promise<Rig> {
  const r = await rig(kernel);
  rigs.push(r);
  return r;
}

/** 10.100.x.y/32 for i = 0 .. n-1 */
const host = (i: number): string => `10.100.${i >> 8}.${i & 255}/32`;

describe('burst mode', () => {
  it('a batch over QUIET_BATCH routes: route events off while written, on BURST_END_MS after, then exactly one dump', async () => {
    const { kernel, reconciler, advance, add } = await started();
    reconciler.allowSweep();
    const n = 5001;
    for (let i = 0; i < n; i++) add(host(i));
    const dumpsBefore = kernel.routeDumps;
    await advance();
    expect((await kernel.ourRoutes()).length).toBe(n);
    expect(kernel.routeEventSwitches).toEqual([false]);
    // meanwhile someone deletes one of ours: no event tells of it
    const [first] = await kernel.ourRoutes();
    kernel.foreignRoute('delete', first!);
    await advance(BURST_END_MS - 20);
    expect(kernel.routeEventSwitches).toEqual([false]);
    expect(kernel.routeDumps).toBe(dumpsBefore);
    await advance(20);
    expect(kernel.routeEventSwitches).toEqual([false, true]);
    expect(kernel.routeDumps).toBe(dumpsBefore + 1);
    // the dump saw the gap: that route is drift, repaired in the same pass (no full resync)
    expect((await kernel.ourRoutes()).length).toBe(n);
    expect(reconciler.stats().repairs).toBe(1);
    await advance(5000);
    expect(kernel.routeDumps).toBe(dumpsBefore + 1);
  });

  it('a small batch leaves route events on', async () => {
    const { kernel, reconciler, advance, add } = await started();
    reconciler.allowSweep();
    for (let i = 0; i < 100; i++) add(host(i));
    await advance(1000);
    expect((await kernel.ourRoutes()).length).toBe(100);
    expect(kernel.routeEventSwitches).toEqual([]);
  });
});

describe('link flap', () => {
  it('admin down flushes route and neighbour; while down nothing is written; admin up brings both back', async () => {
    const { kernel, reconciler, advance, add } = await started();
    reconciler.allowSweep();
    add('10.99.2.0/24');
    await advance();
    const [want] = await kernel.ourRoutes();
    kernel.setAdmin(H0, false);
    expect(await kernel.ourRoutes()).toEqual([]);
    expect(await kernel.ipv4Neighbours()).toEqual([]);
    await advance(1000);
    expect(await kernel.ourRoutes()).toEqual([]);
    expect(reconciler.pendingAt(rigs[0]!.slotOf('10.99.2.0/24'))).toMatchObject({ code: 'link-down' });
    kernel.setAdmin(H0, true);
    await advance();
    expect(await kernel.ourRoutes()).toEqual([want]);
    expect(await kernel.ipv4Neighbours()).toEqual([[H0, G1, EUI_PEER_MAC]]);
  });

  it('carrier loss keeps route (flagged linkdown) and PERMANENT neighbour, and writes nothing', async () => {
    const { kernel, reconciler, advance, add } = await started();
    reconciler.allowSweep();
    add('10.99.2.0/24');
    await advance();
    const writes = kernel.writes;
    kernel.setCarrier(H0, false);
    await advance(1000);
    const [kept] = await kernel.ourRoutes();
    expect(kept).toMatchObject({ dst: 0x0a630200, legs: [{ ifindex: H0, gateway: G1 }] });
    expect(kept!.legs[0]!.flags & RTNH_F_LINKDOWN).toBe(RTNH_F_LINKDOWN);
    expect(await kernel.ipv4Neighbours()).toEqual([[H0, G1, EUI_PEER_MAC]]);
    kernel.setCarrier(H0, true);
    await advance(1000);
    expect(await kernel.ourRoutes()).toMatchObject([ourRoute('10.99.2.0/24')]);
    expect(kernel.writes).toBe(writes);
  });
});

describe('restart adoption', () => {
  it('a second run over our routes: no write for identical ones, wrong ones replaced, leftovers deleted only after allowSweep()', async () => {
    const first = await started();
    first.reconciler.allowSweep();
    for (const p of ['10.99.1.0/24', '10.99.2.0/24', '10.99.3.0/24']) first.add(p);
    await first.advance();
    first.reconciler.stop();
    const kernel = first.kernel;
    // while no one runs, someone points one of ours elsewhere
    kernel.foreignRoute('replace', ourRoute('10.99.2.0/24', G1 + 5));
    const writes = kernel.writes;

    const second = await started(kernel);
    second.add('10.99.1.0/24');
    second.add('10.99.2.0/24'); // 10.99.3.0/24 is no longer wanted
    await second.advance();
    expect(kernel.writes - writes).toBe(1);
    expect(await kernel.ourRoutes()).toMatchObject([ourRoute('10.99.1.0/24'), ourRoute('10.99.2.0/24'), ourRoute('10.99.3.0/24')]);
    const plan = second.events('passPlan').at(-1)!.items;
    expect(plan).toEqual([
      { key: '5549:10.99.1.0/24', op: 'none', verdict: 'installed' },
      { key: '5549:10.99.2.0/24', op: 'route.replace', verdict: 'installed' },
    ]);
    await second.advance(60_000);
    expect((await kernel.ourRoutes()).length).toBe(3);

    second.reconciler.allowSweep();
    await second.advance();
    expect(await kernel.ourRoutes()).toMatchObject([ourRoute('10.99.1.0/24'), ourRoute('10.99.2.0/24')]);
    expect(kernel.writes - writes).toBe(2);
    expect(await kernel.ipv4Neighbours()).toEqual([[H0, G1, EUI_PEER_MAC]]);
  });
});

describe('the NTF_USE prober', () => {
  it('probes an unresolved peer every 3 s until it answers, then installs its route and stops', async () => {
    const { kernel, reconciler, advance, add, clock } = await started();
    reconciler.allowSweep();
    add('10.99.5.0/24', RANDOM_PEER);
    await advance();
    expect(kernel.probes).toMatchObject([{ ifindex: H0, linkLocal: RANDOM_PEER }]);
    expect(await kernel.ourRoutes()).toEqual([]);
    expect(reconciler.pendingAt(rigs[0]!.slotOf('10.99.5.0/24'))).toMatchObject({ code: 'peer-unresolved' });
    const firstAt = clock.now();
    await clock.advance(PROBE_INTERVAL_MS - 20);
    expect(kernel.probes).toHaveLength(1);
    await clock.advance(firstAt + PROBE_INTERVAL_MS + 10 - clock.now());
    expect(kernel.probes).toHaveLength(2);
    await clock.advance(PROBE_INTERVAL_MS);
    expect(kernel.probes).toHaveLength(3);
    // the peer comes up: the next solicitation is answered
    const mac = '02:11:22:33:44:55' as Mac;
    kernel.onWire.set(RANDOM_PEER, mac);
    await clock.advance(PROBE_INTERVAL_MS);
    expect(kernel.probes).toHaveLength(4);
    expect(await kernel.ourRoutes()).toMatchObject([ourRoute('10.99.5.0/24')]);
    expect(await kernel.ipv4Neighbours()).toEqual([[H0, G1, mac]]);
    await clock.advance(10 * PROBE_INTERVAL_MS);
    expect(kernel.probes).toHaveLength(4);
    expect(reconciler.stats().probes).toBe(4);
  });
});

describe('describePlan', () => {
  it('prints every planned key with its op and verdict, and the other writes', async () => {
    const { reconciler, advance, add, events } = await started();
    add('10.99.6.0/24');
    add('10.99.7.0/24', RANDOM_PEER);
    await advance();
    expect(reconciler.pendingCount).toBe(1);
    const items = events('passPlan').flatMap((l) => l.items as ReturnType<typeof describePlan>);
    expect(items).toEqual(expect.arrayContaining([
      { key: 'h0 169.254.0.1', op: 'neigh.replace', verdict: 'write' },
      { key: '5549:10.99.6.0/24', op: 'route.create', verdict: 'installed' },
      expect.objectContaining({ key: '5549:10.99.7.0/24', op: 'none', verdict: 'pending', reason: expect.stringMatching(/^peer-unresolved: /) as unknown }),
      { key: `h0 ${RANDOM_PEER}`, op: 'neigh.probe', verdict: 'write' },
    ]));
  });
});
