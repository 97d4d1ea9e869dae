// Our own table beside main: the policy rule that puts it ahead of main, and the throw
// routes that keep longest match across the two (longest-match.ts). What the kernel holds of
// both is kept here, as dumped and heard; plan() says what to write, level-triggered like the
// routes: it runs whenever ours, main, the rule or the throws changed, and on every dump.
// Ownership is by protocol and table, as for routes: a rule or throw of another protocol is
// never written or deleted.
import { AF_INET, FR_ACT_TO_TBL, type KernelRule, type RuleWrite, type ThrowRoute } from '../kernel/rtnetlink-codec.js';
import { RT_TABLE_MAIN } from '../model/route-table.js';
import type { KernelOp } from './kernel-ops.js';
import { keyAddr, keyLen, MainTable, planThrows, prefixKey, type PrefixKey } from './longest-match.js';

export interface OwnTableConfig {
  readonly table: number;
  readonly protocol: number;
  readonly metric: number;
  /** undefined: no rule of ours */
  readonly rulePriority: number | undefined;
}

export interface OwnTablePlan {
  /** before route writes: throw deletes free keys that a route of ours is about to take */
  readonly beforeRoutes: KernelOp[];
  /** after route writes */
  readonly afterRoutes: KernelOp[];
}

export class OwnTable {
  readonly main = new MainTable();
  /** our throws in our table: prefix -> metrics */
  private readonly throws = new Map<PrefixKey, number[]>();
  /** IPv4 rules of our protocol */
  private rules: KernelRule[] = [];
  /** false once graceful.withdraw-on-exit releases the rule */
  private ruleWanted = true;
  /** which prefix lengths we have in our table (grow-only: a superset only costs look-ups) */
  private lengths = 0;
  private dirty = true;
  private plannedMainVersion = -1;

  constructor(private readonly config: OwnTableConfig) {}

  /** throws are needed where our table is looked up before main, i.e. when it is not main */
  get keepsThrows(): boolean {
    return this.config.table !== RT_TABLE_MAIN;
  }

  get keepsRule(): boolean {
    return this.config.rulePriority !== undefined;
  }

  get table(): number {
    return this.config.table;
  }

  get rulePriority(): number | undefined {
    return this.config.rulePriority;
  }

  get throwCount(): number {
    return this.throws.size;
  }

  /** rules of ours the kernel holds */
  get ruleCount(): number {
    return this.rules.length;
  }

  /** whether the kernel holds our rule, exactly as configured */
  get ruleInstalled(): boolean {
    return this.rules.some((r) => this.isWantedRule(r));
  }

  private get wantedRule(): RuleWrite | undefined {
    const { rulePriority, table, protocol } = this.config;
    return rulePriority === undefined || !this.ruleWanted ? undefined : { priority: rulePriority, table, protocol };
  }

  private isWantedRule(r: KernelRule): boolean {
    const w = this.wantedRule;
    return w !== undefined && !r.selective && r.action === FR_ACT_TO_TBL && r.priority === w.priority && r.table === w.table;
  }

  /** one of our prefixes (desired or held) of this length in our table changed */
  noteOurs(len: number): void {
    if (len < 32) this.lengths |= 2 ** len;
    this.dirty = true;
  }

  markDirty(): void {
    this.dirty = true;
  }

  /** withdraw-on-exit: the rule goes too */
  releaseRule(): void {
    this.ruleWanted = false;
    this.dirty = true;
  }

  get needsPlan(): boolean {
    return this.dirty || this.main.version !== this.plannedMainVersion;
  }

  isOurRule(r: KernelRule): boolean {
    return r.family === AF_INET && r.protocol === this.config.protocol;
  }

  setRules(all: readonly KernelRule[]): void {
    this.rules = all.filter((r) => this.isOurRule(r));
    this.dirty = true;
  }

  noteRule(change: 'new' | 'del', r: KernelRule): void {
    if (!this.isOurRule(r)) return;
    const i = this.rules.findIndex((o) => sameRule(o, r));
    if (change === 'new' && i < 0) this.rules.push(r);
    else if (change === 'del' && i >= 0) this.rules.splice(i, 1);
    this.dirty = true;
  }

  beginThrowDump(): void {
    this.throws.clear();
  }

  /** a throw of ours in our table, dumped or heard (someone else's change: re-plan) */
  noteThrow(change: 'new' | 'del', dst: number, dstLen: number, metric: number): void {
    this.holdThrow(change === 'new', prefixKey(dst, dstLen), metric);
    this.dirty = true;
  }

  private holdThrow(held: boolean, k: PrefixKey, metric: number): void {
    const list = this.throws.get(k) ?? [];
    const next = held ? (list.includes(metric) ? list : [...list, metric]) : list.filter((m) => m !== metric);
    if (next.length > 0) this.throws.set(k, next);
    else this.throws.delete(k);
  }

  /**
   * What to write so that the kernel holds exactly our rule and the throws our prefixes
   * need. `ours` tells whether we hold (desire or have installed) a prefix in our table.
   */
  plan(ours: (addr: number, len: number) => boolean): OwnTablePlan {
    this.dirty = false;
    this.plannedMainVersion = this.main.version;
    const beforeRoutes: KernelOp[] = [];
    const afterRoutes: KernelOp[] = [];
    const { table, protocol, metric } = this.config;

    const wanted = this.wantedRule;
    // The rule first (before our routes fill the table: harmless, lookups fall through).
    if (wanted && !this.rules.some((r) => this.isWantedRule(r))) beforeRoutes.push({ kind: 'rule.create', rule: wanted });
    let kept = false;
    for (const r of this.rules) {
      if (this.isWantedRule(r) && !kept) {
        kept = true;
        continue;
      }
      // ours from an earlier configuration (another preference, say), or a duplicate
      afterRoutes.push({ kind: 'rule.delete', rule: { priority: r.priority, table: r.table, protocol } });
    }

    const want = this.keepsThrows ? planThrows({ has: ours, lengths: this.lengths }, this.main.prefixes()) : new Set<PrefixKey>();
    const throwOp = (kind: 'throw.create' | 'throw.delete', k: PrefixKey, m: number): KernelOp =>
      ({ kind, route: { table, dst: keyAddr(k), dstLen: keyLen(k), protocol, metric: m } satisfies ThrowRoute });
    for (const [k, metrics] of this.throws) {
      for (const m of metrics) if (!want.has(k) || m !== metric) beforeRoutes.push(throwOp('throw.delete', k, m));
    }
    for (const k of want) if (!this.throws.get(k)?.includes(metric)) afterRoutes.push(throwOp('throw.create', k, metric));
    return { beforeRoutes, afterRoutes };
  }

  /**
   * What one of our writes did (its echo is not heard: it carries our port id). A failed
   * one is planned again after the next change or dump, not in a loop.
   */
  recorded(op: KernelOp, ok: boolean): void {
    if (!ok) return;
    switch (op.kind) {
      case 'throw.create': this.holdThrow(true, prefixKey(op.route.dst, op.route.dstLen), op.route.metric); break;
      case 'throw.delete': this.holdThrow(false, prefixKey(op.route.dst, op.route.dstLen), op.route.metric); break;
      case 'rule.create':
        this.rules.push({ family: AF_INET, ...op.rule, action: FR_ACT_TO_TBL, selective: false });
        break;
      case 'rule.delete': {
        const i = this.rules.findIndex((r) => r.priority === op.rule.priority && r.table === op.rule.table);
        if (i >= 0) this.rules.splice(i, 1);
        break;
      }
      default: break;
    }
  }
}

function sameRule(a: KernelRule, b: KernelRule): boolean {
  return a.priority === b.priority && a.table === b.table && a.action === b.action && a.selective === b.selective;
}
