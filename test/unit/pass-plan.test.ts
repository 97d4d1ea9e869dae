// describePlan: a pass's plan printed in the order it is written, bounded.
import { describe, expect, it } from 'vitest';
import type { KernelOp } from '../../src/kernel/kernel-ops.js';
import type { LinkLocal } from '../../src/model/link-local.js';
import type { Mac } from '../../src/model/mac.js';
import { describePlan, type PassPlan } from '../../src/reconcile/pass-plan.js';
import { OP_CREATE, RouteOps, type RouteVerdict } from '../../src/reconcile/plan.js';
import { PlannedVerdicts } from '../../src/reconcile/planned-verdicts.js';

const neigh: KernelOp = { kind: 'neigh.replace', ifindex: 2, ifname: 'h0', gateway: 0xa9fe0001, mac: '02:00:00:00:01:01' as Mac, protocol: 200 };
const probe: KernelOp = { kind: 'neigh.probe', ifindex: 2, ifname: 'h0', linkLocal: 'fe80::1' as LinkLocal };
const rule: KernelOp = { kind: 'rule.create', rule: { priority: 5549, table: 5549, protocol: 200 } };

function plan(): PassPlan {
  const routes = new RouteOps();
  routes.push(OP_CREATE, 7, 1);
  const pending: RouteVerdict = { state: 'pending', code: 'link-down', reason: 'h1 is down', op: 'none' };
  const verdicts = new PlannedVerdicts(3);
  verdicts.push(7, { state: 'installed', op: 'create' });
  verdicts.push(8, pending);
  verdicts.push(9, { state: 'kept-stale', op: 'none' });
  return {
    full: false, verdicts, beforeRoutes: [neigh], routes, afterRoutes: [probe, rule],
    held: [{ key: 'neigh:3', op: 'neigh.replace' }],
  };
}

const keyOf = (s: number): string => `5549:10.0.${s}.0/24`;

describe('describePlan', () => {
  it('lists the writes before the routes, each planned key, the writes after, then the held repairs', () => {
    expect(describePlan(plan(), keyOf)).toEqual([
      { key: 'h0 169.254.0.1', op: 'neigh.replace', verdict: 'write' },
      { key: '5549:10.0.7.0/24', op: 'route.create', verdict: 'installed' },
      { key: '5549:10.0.8.0/24', op: 'none', verdict: 'pending', reason: 'link-down: h1 is down' },
      { key: '5549:10.0.9.0/24', op: 'none', verdict: 'kept-stale' },
      { key: 'h0 fe80::1', op: 'neigh.probe', verdict: 'write' },
      { key: 'rule 5549', op: 'rule.create', verdict: 'write' },
      { key: 'neigh:3', op: 'neigh.replace', verdict: 'held', reason: 'repair backed off: another writer keeps changing it' },
    ]);
  });

  it('stops at the limit', () => {
    expect(describePlan(plan(), keyOf, 3).map((i) => i.key)).toEqual(['h0 169.254.0.1', '5549:10.0.7.0/24', '5549:10.0.8.0/24']);
    expect(describePlan(plan(), keyOf, 1)).toHaveLength(1);
  });
});

describe('PlannedVerdicts', () => {
  it('keeps each slot with its verdict (the same shared object) past its first size', () => {
    const shared: RouteVerdict[] = [{ state: 'installed', op: 'none' }, { state: 'removed', op: 'delete' }, { state: 'pending', code: 'link-down', reason: 'x', op: 'none' }];
    const v = new PlannedVerdicts(1);
    for (let i = 0; i < 100; i++) v.push(1000 + i, shared[i % 3]!);
    expect(v.length).toBe(100);
    for (let i = 0; i < 100; i++) {
      expect(v.slotAt(i)).toBe(1000 + i);
      expect(v.verdictAt(i)).toBe(shared[i % 3]);
    }
  });
});
