// Our own table beside main: the policy rule that puts it ahead of main, and the throw
// routes that keep longest match across the two (longest-match.ts). What the kernel holds of
// both is kept here, as dumped and heard; plan() says what to write, level-triggered like the
// routes: it runs whenever ours, main, the rule or the throws changed, and on every dump.
// The throw set is planned whole after a dump and kept incrementally in between: a change of
// main re-decides that prefix, a change of ours that prefix and main's prefixes inside it, so
// a replay of a million routes next to zebra (whose copies fill main) costs per route, not
// per pass.
// Ownership is by protocol and table, as for routes: a rule or throw of another protocol is
// never written or deleted.
import { AF_INET, FR_ACT_TO_TBL, type KernelRule, type RuleWrite, type ThrowRoute } from '../kernel/rtnetlink-codec.js';
import { isOurs } from '../model/ownership.js';
import { RT_TABLE_MAIN } from '../model/route-table.js';
import type { KernelOp } from '../kernel/kernel-ops.js';
import { keyAddr, keyLen, MainTable, needsThrow, planThrowsIn, prefixKey, type OurPrefixes, type PrefixKey } from './longest-match.js';

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
  /** rules or throws changed under us */
  private dirty = true;
  /** the throws our table should hold, as last planned */
  private want = new Set<PrefixKey>();
  /** after a dump of main: plan the throw set whole */
  private fullReplan = true;
  private readonly dirtyMain = new Set<PrefixKey>();
  private readonly dirtyOurs = new Set<PrefixKey>();
  /** someone else removed our rule, or these throws, since the last plan: re-making them is a repair */
  ruleDrifted = false;
  private readonly driftedThrows = new Set<PrefixKey>();
  /** throws the kernel refused (a foreign route at the key): not retried before the next dump */
  private readonly refusedThrows = new Set<PrefixKey>();

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

  /** the prefixes of our throws in the kernel */
  throwKeys(): PrefixKey[] {
    return [...this.throws.keys()];
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

  /** a prefix of ours of this length is in our table (a dump re-reading it) */
  noteOurLength(len: number): void {
    if (len < 32) this.lengths |= 2 ** len;
  }

  /** a prefix of ours (desired or held) in our table came, went or changed */
  noteOurs(addr: number, len: number): void {
    this.noteOurLength(len);
    if (!this.keepsThrows || this.fullReplan) return;
    // only main's prefix itself or ones inside it can change their verdict
    if (this.main.has(addr, len) || (len < 32 && this.main.hasLongerThan(len))) this.dirtyOurs.add(prefixKey(addr, len));
  }

  /** plan again (a held-back repair's retry) */
  markDirty(): void {
    this.dirty = true;
  }

  /** a route of main (not ours) came or went, heard as an event */
  noteMainRoute(change: 'new' | 'del', addr: number, len: number, metric: number, shadowing: boolean): void {
    const before = this.main.version;
    if (change === 'new') this.main.put(addr, len, metric, shadowing);
    else this.main.remove(addr, len, metric);
    if (this.main.version !== before && !this.fullReplan) this.dirtyMain.add(prefixKey(addr, len));
  }

  /** a dump of main starts: what it reports replaces what we held, and the throws are planned whole */
  beginMainDump(): void {
    this.main.clear();
    this.fullReplan = true;
    this.refusedThrows.clear();
    this.dirtyMain.clear();
    this.dirtyOurs.clear();
  }

  mainDumped(addr: number, len: number, metric: number, shadowing: boolean): void {
    this.main.put(addr, len, metric, shadowing);
  }

  /** withdraw-on-exit: the rule goes too */
  releaseRule(): void {
    this.ruleWanted = false;
    this.dirty = true;
  }

  get needsPlan(): boolean {
    return this.dirty || this.fullReplan || this.dirtyMain.size > 0 || this.dirtyOurs.size > 0;
  }

  isOurRule(r: KernelRule): boolean {
    return r.family === AF_INET && isOurs(r, this.config.protocol);
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
    if (change === 'del' && this.isWantedRule(r)) this.ruleDrifted = true;
    this.dirty = true;
  }

  beginThrowDump(): void {
    this.throws.clear();
  }

  /** a throw of ours in our table, dumped or heard (someone else's change: re-plan) */
  noteThrow(change: 'new' | 'del', dst: number, dstLen: number, metric: number): void {
    const k = prefixKey(dst, dstLen);
    this.holdThrow(change === 'new', k, metric);
    if (change === 'del' && metric === this.config.metric) this.driftedThrows.add(k);
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
    if (this.keepsThrows) this.planWant({ has: ours, lengths: this.lengths });
    else this.fullReplan = false; // nothing to plan: no throws where our table is main
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

    const want = this.want;
    const throwOp = (kind: 'throw.create' | 'throw.delete', k: PrefixKey, m: number): KernelOp =>
      ({ kind, route: { table, dst: keyAddr(k), dstLen: keyLen(k), protocol, metric: m } satisfies ThrowRoute });
    for (const [k, metrics] of this.throws) {
      for (const m of metrics) if (!want.has(k) || m !== metric) beforeRoutes.push(throwOp('throw.delete', k, m));
    }
    for (const k of want) {
      if (!this.throws.get(k)?.includes(metric) && !this.refusedThrows.has(k)) afterRoutes.push(throwOp('throw.create', k, metric));
    }
    return { beforeRoutes, afterRoutes };
  }

  /** whether a planned create puts back what someone else removed (then it is a repair, throttled like the routes') */
  isRepair(op: KernelOp): boolean {
    if (op.kind === 'rule.create') return this.ruleDrifted;
    return op.kind === 'throw.create' && this.driftedThrows.has(prefixKey(op.route.dst, op.route.dstLen));
  }

  /** the drift seen so far has been planned for */
  clearDrift(): void {
    this.ruleDrifted = false;
    this.driftedThrows.clear();
  }

  private planWant(ours: OurPrefixes): void {
    const { main, want } = this;
    if (this.fullReplan) {
      this.want = planThrowsIn(ours, main);
    } else {
      const decide = (k: PrefixKey): void => {
        const addr = keyAddr(k);
        const len = keyLen(k);
        if (main.has(addr, len) && needsThrow(ours, addr, len)) want.add(k);
        else want.delete(k);
      };
      for (const k of this.dirtyMain) decide(k);
      for (const k of this.dirtyOurs) {
        decide(k);
        main.forEachInside(keyAddr(k), keyLen(k), decide);
      }
    }
    this.fullReplan = false;
    this.dirtyMain.clear();
    this.dirtyOurs.clear();
  }

  /**
   * What one of our writes did (its echo is not heard: it carries our port id). A failed
   * one is planned again after the next change or dump, not in a loop.
   */
  recorded(op: KernelOp, ok: boolean): void {
    if (!ok) {
      if (op.kind === 'throw.create') this.refusedThrows.add(prefixKey(op.route.dst, op.route.dstLen));
      return;
    }
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
