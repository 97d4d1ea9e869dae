// Writes that undo someone else's change (a route, placeholder, rule or throw of ours that
// the kernel changed under us) are repairs: logged, counted, and backed off when another
// writer keeps fighting over a key, with one retry timer per key held back.
import type { KernelOp } from '../kernel/kernel-ops.js';
import type { Logger } from '../log.js';
import type { Clock } from '../runtime/clock.js';
import { opSubject } from './op-subject.js';
import type { OwnTable, OwnTablePlan } from './own-table.js';
import { RouteOps, type RouteOpKind } from './plan.js';
import { RepairBackoff } from './repair-backoff.js';

/** a repair held back for now: the key and the write */
export interface HeldRepair {
  readonly key: string;
  readonly op: string;
}

/** how a held-back repair is asked for again when its backoff ends */
export interface RepairRetries {
  route(slot: number): void;
  neighbour(ifindex: number): void;
  ownTable(): void;
}

export interface RepairStats {
  /** writes that undid someone else's change */
  readonly repairs: number;
  /** keys whose repair waits for its backoff */
  readonly backedOff: number;
}

const ROUTE_OP_NAMES = ['', 'route.create', 'route.replace', 'route.delete'] as const;

export class RepairThrottle {
  private readonly backoff: RepairBackoff;
  private readonly retryScheduled = new Set<string>();
  /** slots the kernel changed under us since the last pass */
  private drifted = new Set<number>();
  /** ifindexes whose placeholder the kernel changed under us */
  private driftedNeighbours = new Set<number>();
  private repairs = 0;

  constructor(private readonly clock: Clock, private readonly log: Logger, private readonly retries: RepairRetries) {
    this.backoff = new RepairBackoff(() => clock.now());
  }

  noteRouteDrift(slot: number): void {
    this.drifted.add(slot);
  }

  noteNeighbourDrift(ifindex: number): void {
    this.driftedNeighbours.add(ifindex);
  }

  /** the planned route writes less the repairs held back */
  routes(planned: RouteOps, keyOf: (slot: number) => string, held: HeldRepair[]): RouteOps {
    const drifted = this.drifted;
    this.drifted = new Set();
    if (drifted.size === 0) return planned;
    const kept = new RouteOps();
    const repaired: string[] = [];
    const decided = new Map<number, boolean>();
    for (let i = 0; i < planned.length; i++) {
      const s = planned.slot[i]!;
      const kind = planned.kind[i] as RouteOpKind;
      let allowed = decided.get(s);
      if (allowed === undefined) {
        allowed = true;
        if (drifted.has(s)) {
          const key = keyOf(s);
          allowed = this.allowed(key, () => this.retries.route(s));
          if (allowed) repaired.push(key);
        }
        decided.set(s, allowed);
      }
      if (allowed) kept.push(kind, s, planned.arg[i]!);
      else held.push({ key: keyOf(s), op: ROUTE_OP_NAMES[kind] });
    }
    this.noteRepairs(repaired);
    return kept;
  }

  /** neighbour writes less the repairs held back; call once for the adds, once for the deletes, then endNeighbours() */
  neighbours<T extends KernelOp>(planned: T[], held: HeldRepair[]): T[] {
    if (this.driftedNeighbours.size === 0) return planned;
    const repaired: string[] = [];
    const kept = planned.filter((op) => {
      if (!('ifindex' in op) || !this.driftedNeighbours.has(op.ifindex)) return true;
      const key = `neigh:${op.ifindex}`;
      const { ifindex } = op;
      const ok = this.allowed(key, () => this.retries.neighbour(ifindex));
      if (ok) repaired.push(key);
      else held.push({ key, op: op.kind });
      return ok;
    });
    this.noteRepairs(repaired);
    return kept;
  }

  endNeighbours(): void {
    this.driftedNeighbours = new Set();
  }

  /** re-making our rule or a throw someone deleted */
  ownTable(plan: OwnTablePlan, own: OwnTable, held: HeldRepair[]): OwnTablePlan {
    const repaired: string[] = [];
    const keep = (op: KernelOp): boolean => {
      if (!own.isRepair(op)) return true;
      const subject = opSubject(op);
      const key = op.kind === 'rule.create' ? `rule:${String(subject.priority)}` : `throw:${String(subject.key)}`;
      const ok = this.allowed(key, () => this.retries.ownTable());
      if (ok) repaired.push(key);
      else held.push({ key, op: op.kind });
      return ok;
    };
    const out = { beforeRoutes: plan.beforeRoutes.filter(keep), afterRoutes: plan.afterRoutes.filter(keep) };
    own.clearDrift();
    this.noteRepairs(repaired);
    return out;
  }

  stats(): RepairStats {
    return { repairs: this.repairs, backedOff: this.retryScheduled.size };
  }

  /** whether a repair of `key` may go now; if not, `retry` runs when its backoff ends */
  private allowed(key: string, retry: () => void): boolean {
    const d = this.backoff.request(key);
    if (d.allowed) return true;
    if (d.episodeStarted) {
      this.log.warn({ event: 'repairBackoff', key, retryInMs: d.retryAtMs - this.clock.now() }, 'another writer keeps changing what we own; backing off');
    }
    if (!this.retryScheduled.has(key)) {
      this.retryScheduled.add(key);
      this.clock.setTimeout(() => {
        this.retryScheduled.delete(key);
        retry();
      }, Math.max(0, d.retryAtMs - this.clock.now()));
    }
    return false;
  }

  private noteRepairs(repaired: string[]): void {
    if (repaired.length === 0) return;
    this.repairs += repaired.length;
    this.log.info({ event: 'driftRepaired', count: repaired.length, keys: repaired.slice(0, 10) }, 'repairing what someone else changed');
    this.backoff.prune();
  }
}
