// describePlan: a pass's plan printed in the order it is written, bounded.
import { describe, expect, it } from 'vitest';
import type { KernelOp } from '../../src/kernel/kernel-ops.js';
import type { LinkLocal } from '../../src/model/link-local.js';
import type { Mac } from '../../src/model/mac.js';
import { describePlan, type PassPlan } from '../../src/reconcile/pass-plan.js';
import { OP_CREATE, RouteOps, type RouteVerdict } from '../../src/reconcile/plan.js';

const neigh: KernelOp = { kind: 'neigh.replace', ifindex: 2, ifname: 'h0', gateway: 0xa9fe0001, mac: '02:00:00:00:01:01' as Mac, protocol: 200 };
const probe: KernelOp = { kind: 'neigh.probe', ifindex: 2, ifname: 'h0', linkLocal: 'fe80::1' as LinkLocal };
const rule: KernelOp = { kind: 'rule.create', rule: { priority: 5549, table: 5549, protocol: 200 } };

function plan(): PassPlan {
  const routes = new RouteOps();
  routes.push(OP_CREATE, 7, 1);
  const verdicts: RouteVerdict[] = [
    { state: 'installed', op: 'create' },
    { state: 'pending', code: 'link-down', reason: 'h1 is down', op: 'none' },
    { state: 'kept-stale', op: 'none' },
  ];
  return {
    full: false, slots: [7, 8, 9], verdicts, beforeRoutes: [neigh], routes, afterRoutes: [probe, rule],
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
