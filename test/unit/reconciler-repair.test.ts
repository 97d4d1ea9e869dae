// Orchestration without root: the real Reconciler on the FakeKernel and a ManualClock.
// Drift repair, the repair backoff when another writer keeps fighting, a write the kernel
// refuses, and the resync a second after a failed pass. Each checks the fake's dump.
import { afterEach, describe, expect, it } from 'vitest';
import type { Mac } from '../../src/model/mac.js';
import { G1, H0, ourRoute, PROTOCOL, rig, EUI_PEER_MAC, type Rig } from '../helpers/reconciler-rig.js';

const OTHER_MAC = '02:00:00:00:09:09' as Mac;

let r: Rig | undefined;
afterEach(async () => {
  r?.reconciler.stop();
  await r?.kernel.close();
  r = undefined;
});

async function installed(): Promise<Rig> {
  r = await rig();
  r.reconciler.allowSweep();
  r.add('10.99.2.0/24');
  await r.advance();
  expect(await r.kernel.ourRoutes()).toMatchObject([ourRoute('10.99.2.0/24')]);
  expect(await r.kernel.ipv4Neighbours()).toEqual([[H0, G1, EUI_PEER_MAC]]);
  return r;
}

describe('drift repair on the FakeKernel', () => {
  it('a route of ours deleted or replaced by someone else comes back, counted as a repair', async () => {
    const { kernel, reconciler, advance } = await installed();
    const [want] = await kernel.ourRoutes();
    expect(kernel.foreignRoute('delete', want!)).toEqual({ ok: true });
    await advance();
    expect(await kernel.ourRoutes()).toEqual([want]);
    expect(kernel.foreignRoute('replace', ourRoute('10.99.2.0/24', G1 + 7))).toEqual({ ok: true });
    await advance();
    expect(await kernel.ourRoutes()).toEqual([want]);
    expect(reconciler.stats()).toMatchObject({ repairs: 2, repairsBackedOff: 0 });
  });

  it('our placeholder neighbour deleted, or given another MAC under our protocol, comes back', async () => {
    const { kernel, reconciler, advance } = await installed();
    expect(await kernel.foreignNeighbour('delete', H0, G1)).toEqual({ ok: true });
    expect(await kernel.ipv4Neighbours()).toEqual([]);
    await advance();
    expect(await kernel.ipv4Neighbours()).toEqual([[H0, G1, EUI_PEER_MAC]]);
    expect(await kernel.foreignNeighbour('replace', H0, G1, OTHER_MAC, PROTOCOL)).toEqual({ ok: true });
    await advance();
    expect(await kernel.ipv4Neighbours()).toEqual([[H0, G1, EUI_PEER_MAC]]);
    expect(reconciler.repairs).toBe(2);
    expect(await kernel.ourRoutes()).toMatchObject([ourRoute('10.99.2.0/24')]);
  });

  it('a placeholder address taken by another protocol\'s entry is left alone: ours and the route move to the next address', async () => {
    const { kernel, advance } = await installed();
    expect(await kernel.foreignNeighbour('replace', H0, G1, OTHER_MAC)).toEqual({ ok: true });
    await advance();
    expect(await kernel.ipv4Neighbours()).toEqual([[H0, G1, OTHER_MAC], [H0, G1 + 1, EUI_PEER_MAC]]);
    expect(await kernel.ourRoutes()).toMatchObject([ourRoute('10.99.2.0/24', G1 + 1)]);
  });
});

describe('the repair backoff on the FakeKernel', () => {
  it('another writer that keeps deleting our route: five repairs, then backed off once, retried when the backoff ends and not before', async () => {
    const { kernel, reconciler, advance, clock, events } = await installed();
    const [want] = await kernel.ourRoutes();
    for (let i = 1; i <= 5; i++) {
      kernel.foreignRoute('delete', want!);
      await advance(100);
      expect(await kernel.ourRoutes()).toEqual([want]);
      expect(reconciler.repairs).toBe(i);
    }
    expect(events('repairBackoff')).toEqual([]);
    // the sixth within the 10 s window is held back for 1 s
    kernel.foreignRoute('delete', want!);
    await advance(100);
    expect(await kernel.ourRoutes()).toEqual([]);
    const heldAt = clock.now() - 100;
    expect(events('repairBackoff')).toMatchObject([{ key: '5549:10.99.2.0/24' }]);
    expect(reconciler.stats()).toMatchObject({ repairs: 5, repairsBackedOff: 1 });
    expect(events('passPlan').at(-1)!.items).toEqual(expect.arrayContaining([
      { key: '5549:10.99.2.0/24', op: 'route.create', verdict: 'held', reason: 'repair backed off: another writer keeps changing it' },
    ]));
    // it writes its own version meanwhile: still held, and the episode is not logged again
    const theirs = ourRoute('10.99.2.0/24', G1 + 9);
    kernel.foreignRoute('replace', theirs);
    await advance(100);
    expect(await kernel.ourRoutes()).toEqual([theirs]);
    await clock.advance(heldAt + 1000 - clock.now() - 5);
    expect(await kernel.ourRoutes()).toEqual([theirs]);
    await advance(20);
    expect(await kernel.ourRoutes()).toEqual([want]);
    expect(events('repairBackoff')).toHaveLength(1);
    expect(reconciler.stats()).toMatchObject({ repairs: 6, repairsBackedOff: 0 });
  });
});

describe('failures on the FakeKernel', () => {
  it('a route the kernel refuses (another protocol holds the key) is pending with the reason, and installed once the key is free', async () => {
    r = await rig();
    const { kernel, reconciler, advance } = r;
    reconciler.allowSweep();
    const zebras = ourRoute('10.99.3.0/24', G1, 186);
    expect(kernel.foreignRoute('replace', zebras)).toEqual({ ok: true });
    r.add('10.99.3.0/24');
    await advance();
    expect(await kernel.ourRoutes()).toEqual([]);
    expect(reconciler.pendingAt(r.slotOf('10.99.3.0/24'))).toEqual({
      code: 'route-conflict', reason: 'a route of another protocol holds this prefix at metric 20; it is left alone',
    });
    expect(reconciler.stats()).toMatchObject({ pending: 1, failedWrites: 1 });
    expect(r.events('routeConflict')).toHaveLength(1);
    kernel.foreignRoute('delete', zebras);
    reconciler.requestResync(); // the daemon's resync timer
    await advance();
    expect(await kernel.ourRoutes()).toMatchObject([ourRoute('10.99.3.0/24')]);
    expect(reconciler.pendingAt(r.slotOf('10.99.3.0/24'))).toBeUndefined();
  });

  it('a failed pass is logged and retried, with a dump, 1 s later and not before', async () => {
    const { kernel, reconciler, advance, clock } = await installed();
    kernel.failDumps = 1;
    reconciler.requestResync();
    r!.add('10.99.4.0/24');
    await advance();
    expect(r!.events('reconcileFailed')).toHaveLength(1);
    const failedAt = clock.now();
    let idle = false;
    void reconciler.idle().then(() => (idle = true));
    await advance(900);
    expect((await kernel.ourRoutes()).map((x) => x.dst)).toEqual([0x0a630200]);
    expect(idle).toBe(false);
    await clock.advance(failedAt + 1000 - clock.now() + 10);
    expect((await kernel.ourRoutes()).map((x) => x.dst)).toEqual([0x0a630200, 0x0a630400]);
    expect(idle).toBe(true);
    expect(r!.events('reconcileFailed')).toHaveLength(1);
  });
});
