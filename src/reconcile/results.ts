// What a pass learnt: each planned key's verdict (pending with its reason, or not), and each
// write's answer: what the kernel now holds, a failed route pending with why, a log line.
import { constants } from 'node:os';
import type { KernelState } from '../kernel/kernel-state.js';
import type { OpFailure } from '../kernel/kernel.js';
import type { KernelOp, OpResult } from '../kernel/kernel-ops.js';
import { NUD_PERMANENT } from '../kernel/rtnetlink-codec.js';
import type { Logger } from '../log.js';
import { numberToIpv4 } from '../model/ipv4-prefix.js';
import { NONE, type RouteStore } from '../rib/route-store.js';
import { asHeld } from './nexthop-objects.js';
import { opSubject } from './op-subject.js';
import type { OwnTable } from './own-table.js';
import type { PassPlan } from './pass-plan.js';
import { PendingReasons, type PendingRoute } from './pending-reasons.js';
import { OP_CREATE, OP_DELETE, type RouteOps } from './plan.js';

const { EEXIST, ESRCH, ENOENT } = constants.errno;

export interface RecorderDeps {
  readonly store: RouteStore;
  keyOf(slot: number): string;
  readonly state: KernelState;
  readonly ownTable: OwnTable;
  /** kernel.table and kernel.metric */
  readonly table: number;
  readonly metric: number;
  readonly log: Logger;
  /** a neighbour or nexthop write failed: what the kernel holds is in doubt */
  requestDump(): void;
}

export interface RecorderStats {
  /** writes the kernel acknowledged */
  readonly writes: number;
  readonly failedWrites: number;
  /** desired routes not in the kernel */
  readonly pending: number;
}

export class PassRecorder {
  private readonly reasons = new PendingReasons();
  private writes = 0;
  private failedWrites = 0;

  constructor(private readonly d: RecorderDeps) {}

  /** why the route at a slot is not in the kernel; undefined when it is (or is not desired) */
  pendingAt(slot: number): PendingRoute | undefined {
    return this.reasons.get(this.d.store.pending[slot]!);
  }

  stats(): RecorderStats {
    return { writes: this.writes, failedWrites: this.failedWrites, pending: this.d.store.pendingCount };
  }

  /** every planned key: pending with its reason, or no longer pending */
  recordVerdicts(plan: PassPlan, debug: boolean): void {
    const { store, log } = this.d;
    const { verdicts } = plan;
    for (let i = 0; i < verdicts.length; i++) {
      const s = verdicts.slotAt(i);
      const v = verdicts.verdictAt(i);
      if (v.state === 'pending') {
        const id = this.reasons.id(v);
        if (debug && store.pending[s] !== id) log.debug({ event: 'routePending', key: this.d.keyOf(s), code: v.code, reason: v.reason }, 'route pending');
        store.setPending(s, id);
      } else if (store.pending[s] !== NONE) {
        store.setPending(s, NONE);
        if (debug && v.state === 'installed') log.debug({ event: 'routeInstalled', key: this.d.keyOf(s) }, 'route installed');
      }
    }
  }

  /** the writes a pass attempted and how many failed */
  countWrites(attempted: number, failed: number): void {
    this.writes += attempted - failed;
    this.failedWrites += failed;
  }

  /** route writes; the number that failed */
  recordRoutes(ops: RouteOps, failures: ReadonlyMap<number, OpFailure>, debug: boolean): number {
    const { store, state, ownTable, table } = this.d;
    let failed = 0;
    for (let i = 0; i < ops.length; i++) {
      const s = ops.slot[i]!;
      const kind = ops.kind[i]!;
      const f = failures.get(i);
      if (f && !(kind === OP_DELETE && f.errno === ESRCH /* already gone */)) {
        failed++;
        this.routeWriteFailed(s, kind, f);
        continue;
      }
      if (kind === OP_DELETE) {
        state.forgetRoute(s, ops.arg[i]!);
        // a prefix of ours gone from our table: throws inside it may go too
        if (store.table[s] === table) ownTable.noteOurs(store.addr[s]!, store.len[s]!);
      } else {
        state.setObserved(s, ops.arg[i]!);
      }
      if (debug) this.d.log.debug({ event: 'routeWritten', op: kind === OP_DELETE ? 'route.delete' : kind === OP_CREATE ? 'route.create' : 'route.replace', key: this.d.keyOf(s) }, 'route written');
    }
    return failed;
  }

  /** neighbour, nexthop-object, rule and throw writes; the number that failed */
  recordOps(ops: readonly KernelOp[], results: readonly OpResult[]): number {
    const { state, log } = this.d;
    let failed = 0;
    ops.forEach((op, i) => {
      const res = results[i]!;
      if (op.kind.startsWith('rule.') || op.kind.startsWith('throw.')) {
        if (!this.recordOwnTableOp(op, res)) failed++;
        return;
      }
      if (!res.ok) {
        failed++;
        log.warn({ event: 'kernelWriteFailed', op: op.kind, error: res.error, ...opSubject(op) }, 'kernel write failed');
        if (op.kind === 'neigh.replace' || op.kind === 'nh.replace') this.d.requestDump();
        return;
      }
      switch (op.kind) {
        case 'neigh.replace':
          state.notePlaceholder({ ifindex: op.ifindex, gateway: op.gateway, mac: op.mac, state: NUD_PERMANENT, protocol: op.protocol });
          log.info({ event: 'neighbourWritten', op: op.kind, ifname: op.ifname, gateway: numberToIpv4(op.gateway), mac: op.mac }, op.kind);
          break;
        case 'neigh.delete':
          state.removePlaceholder(op.ifindex, op.gateway);
          log.info({ event: 'neighbourWritten', op: op.kind, ifname: op.ifname, gateway: numberToIpv4(op.gateway) }, op.kind);
          break;
        case 'neigh.probe':
          log.debug({ event: 'peerProbed', ifname: op.ifname, peer: op.linkLocal }, 'neighbour solicitation requested');
          break;
        case 'nh.replace':
          state.nexthops.set(op.nexthop.id, asHeld(op.nexthop));
          log.info({ event: 'nexthopWritten', op: op.kind, id: op.nexthop.id }, op.kind);
          break;
        case 'nh.delete':
          state.nexthops.delete(op.id);
          log.info({ event: 'nexthopWritten', op: op.kind, id: op.id }, op.kind);
          break;
      }
    });
    return failed;
  }

  private routeWriteFailed(s: number, kind: number, f: OpFailure): void {
    const key = this.d.keyOf(s);
    if (kind === OP_DELETE) {
      this.d.log.warn({ event: 'kernelWriteFailed', op: 'route.delete', key, error: f.error }, 'kernel write failed');
      return;
    }
    const conflict = kind === OP_CREATE && f.errno === EEXIST;
    const reason = conflict
      ? `a route of another protocol holds this prefix at metric ${this.d.metric}; it is left alone`
      : `the kernel refused the route: ${f.error}`;
    this.d.store.setPending(s, this.reasons.id({ code: conflict ? 'route-conflict' : 'kernel-error', reason }));
    this.d.log.warn({ event: conflict ? 'routeConflict' : 'routeRejected', key, error: f.error }, conflict ? 'foreign route in the way' : 'kernel refused route');
  }

  /** a rule or throw write; false when it failed */
  private recordOwnTableOp(op: KernelOp, res: OpResult): boolean {
    // already there (a rule we had not heard of yet) or already gone: what we wanted
    const ok = res.ok
      || (op.kind === 'rule.create' && res.errno === EEXIST)
      || ((op.kind === 'rule.delete' || op.kind === 'throw.delete') && (res.errno === ENOENT || res.errno === ESRCH));
    this.d.ownTable.recorded(op, ok);
    const subject = opSubject(op);
    if (!ok) {
      this.d.log.warn({ event: 'kernelWriteFailed', op: op.kind, error: res.ok ? '' : res.error, ...subject }, 'kernel write failed');
      return false;
    }
    if (op.kind.startsWith('rule.')) this.d.log.info({ event: 'ruleWritten', op: op.kind, ...subject }, op.kind);
    else this.d.log.debug({ event: 'throwWritten', op: op.kind, ...subject }, op.kind);
    return true;
  }
}
