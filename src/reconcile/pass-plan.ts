// A pass's plan as one printable value: every planned key with its verdict, and the writes
// in the order they go (neighbours, then the nexthop objects over them, then routes; deletes
// the other way round). Built from the pure plans in plan.ts; describePlan() prints it.
import { isPermanent } from '../kernel/kernel-state.js';
import type { KernelOp } from '../kernel/kernel-ops.js';
import { opKey } from './op-subject.js';
import type { OwnTablePlan } from './own-table.js';
import { planNeighbours, planRoutes, type NeighbourPlan, type NeighbourPlanInput, type RouteOps, type RoutePlanInput } from './plan.js';
import { PlannedVerdicts } from './planned-verdicts.js';
import type { HeldRepair } from './repair-throttle.js';

/** the pure plans of one pass, before repairs are throttled */
export interface DraftPlan {
  readonly full: boolean;
  /** every planned slot with its verdict */
  readonly verdicts: PlannedVerdicts;
  readonly routes: RouteOps;
  readonly neighbours: NeighbourPlan;
}

export interface DraftInput {
  readonly full: boolean;
  readonly neighbours: NeighbourPlanInput;
  readonly routes: Omit<RoutePlanInput, 'verdict'>;
  /** between the neighbour and the route plan: the gateway pool's end of pass */
  neighboursPlanned(): void;
}

export function draftPlan(input: DraftInput): DraftPlan {
  const neighbours = planNeighbours(input.neighbours, isPermanent);
  input.neighboursPlanned();
  const { slots, store } = input.routes;
  const verdicts = new PlannedVerdicts(slots === 'every' ? store.end : slots.length);
  const routes = planRoutes({ ...input.routes, verdict: (s, v) => verdicts.push(s, v) });
  return { full: input.full, verdicts, routes, neighbours };
}

export interface PassPlan {
  readonly full: boolean;
  readonly verdicts: PlannedVerdicts;
  /** neighbours, the nexthop objects over them, throws that give way to a route of ours */
  readonly beforeRoutes: readonly KernelOp[];
  readonly routes: RouteOps;
  /** nexthop-object and neighbour deletes, probes, new throws and the rule */
  readonly afterRoutes: readonly KernelOp[];
  /** repairs held back by their backoff: not written in this pass */
  readonly held: readonly HeldRepair[];
}

/** the writes of a pass besides routes, each list already throttled */
export interface PassWrites {
  readonly neighbourAdds: readonly KernelOp[];
  readonly neighbourDeletes: readonly KernelOp[];
  readonly nexthops: { readonly adds: readonly KernelOp[]; readonly deletes: readonly KernelOp[] } | undefined;
  readonly ownTable: OwnTablePlan | undefined;
  readonly probes: readonly KernelOp[];
}

/** Route deletes go before the neighbour deletes, so that a neighbour delete never strands a route. */
export function orderPlan(draft: DraftPlan, routes: RouteOps, w: PassWrites, held: readonly HeldRepair[]): PassPlan {
  return {
    full: draft.full,
    verdicts: draft.verdicts,
    beforeRoutes: [...w.neighbourAdds, ...(w.nexthops?.adds ?? []), ...(w.ownTable?.beforeRoutes ?? [])],
    routes,
    afterRoutes: [...(w.nexthops?.deletes ?? []), ...w.neighbourDeletes, ...w.probes, ...(w.ownTable?.afterRoutes ?? [])],
    held,
  };
}

/** one line of a printed plan */
export interface PlanItem {
  /** `table:prefix` for routes (Rib.keyOf), what the op is about otherwise */
  readonly key: string;
  /** `route.create`, `neigh.replace`, ..., or `none` */
  readonly op: string;
  /** a route's verdict (installed, pending, removed, kept-stale, absent); `write` for other ops; `held` for a backed-off repair */
  readonly verdict: string;
  readonly reason?: string;
}

/** The plan in the order it is written, then the repairs held back; at most `limit` items. */
export function describePlan(plan: PassPlan, keyOf: (slot: number) => string, limit = Infinity): PlanItem[] {
  const items: PlanItem[] = [];
  const add = (item: PlanItem): boolean => items.push(item) < limit;
  const ops = (list: readonly KernelOp[]): boolean => list.every((op) => add({ key: opKey(op), op: op.kind, verdict: 'write' }));
  if (!ops(plan.beforeRoutes)) return items;
  const { verdicts } = plan;
  for (let i = 0; i < verdicts.length; i++) {
    const v = verdicts.verdictAt(i);
    const item: PlanItem = { key: keyOf(verdicts.slotAt(i)), op: v.op === 'none' ? 'none' : `route.${v.op}`, verdict: v.state };
    if (!add(v.state === 'pending' ? { ...item, reason: `${v.code}: ${v.reason}` } : item)) return items;
  }
  if (!ops(plan.afterRoutes)) return items;
  for (const h of plan.held) if (!add({ key: h.key, op: h.op, verdict: 'held', reason: 'repair backed off: another writer keeps changing it' })) break;
  return items;
}
