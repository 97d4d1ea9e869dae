import { describe, expect, it } from 'vitest';
import { F_DIRTY, F_WRITING, RouteStore } from '../../src/rib/route-store.js';
import { fullCollection, heapBytes, ReleasePolicy } from '../../src/runtime/garbage-release.js';

const MB = 2 ** 20;

describe('garbage release after big passes', () => {
  it('collects once the heap has grown by the threshold and the work has run out, and not again until it grows again', () => {
    const p = new ReleasePolicy(32 * MB);
    const idle = () => true;
    expect(p.shouldCollect(20 * MB, idle)).toBe(false); // below the threshold from 0
    expect(p.shouldCollect(40 * MB, idle)).toBe(true);
    p.collected(22 * MB);
    expect(p.shouldCollect(50 * MB, idle)).toBe(false); // 28 MB over the floor
    expect(p.shouldCollect(54 * MB, idle)).toBe(true);
  });

  it('waits while work is queued, and asks only when the heap has grown enough', () => {
    const p = new ReleasePolicy(32 * MB);
    let asked = 0;
    const busy = () => (asked++, false);
    expect(p.shouldCollect(10 * MB, busy)).toBe(false);
    expect(asked).toBe(0);
    expect(p.shouldCollect(100 * MB, busy)).toBe(false);
    expect(asked).toBe(1);
    expect(p.shouldCollect(100 * MB, () => true)).toBe(true);
  });

  it('follows a heap that V8 shrank on its own: the threshold counts from the lowest size seen', () => {
    const p = new ReleasePolicy(32 * MB);
    p.collected(60 * MB);
    expect(p.shouldCollect(25 * MB, () => true)).toBe(false);
    expect(p.shouldCollect(50 * MB, () => true)).toBe(false);
    expect(p.shouldCollect(57 * MB, () => true)).toBe(true);
  });

  it('the full collection frees what nothing refers to, at once', async () => {
    const collect = fullCollection();
    const held: { junk?: number[] } = { junk: Array.from({ length: 100_000 }, (_, i) => i) };
    const ref = new WeakRef(held.junk!);
    delete held.junk;
    // a WeakRef made or read in this job holds its target until the job ends
    await new Promise((resolve) => setImmediate(resolve));
    expect(heapBytes()).toBeGreaterThan(0);
    collect();
    expect(ref.deref()).toBeUndefined();
  });
});

describe('route store flag scan', () => {
  it('tells whether some slot has a flag bit', () => {
    const store = new RouteStore(16);
    const slots = Array.from({ length: 40 }, (_, i) => store.slotFor(254, i << 8, 24));
    expect(store.anyFlagged(F_DIRTY)).toBe(false);
    store.flags[slots[39]!]! |= F_DIRTY;
    expect(store.anyFlagged(F_DIRTY)).toBe(true);
    expect(store.anyFlagged(F_WRITING)).toBe(false);
    store.flags[slots[39]!]! &= ~F_DIRTY;
    expect(store.anyFlagged(F_DIRTY | F_WRITING)).toBe(false);
  });
});
