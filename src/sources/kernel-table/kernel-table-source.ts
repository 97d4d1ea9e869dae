// The kernel-table source: IPv4 routes `via inet6 fe80::… dev IF` that another speaker
// writes into a table nobody forwards from (BIRD's `kernel table 100`, a script's
// `ip route add … table 100`) become desired routes in kernel.table, in our form.
//
// Level-triggered. Every reconciler dump re-reads each source table as a replay
// (beginReplay/endReplay): what vanished while events were lost (an overrun, our own big
// writes, which switch route events off) is withdrawn there. Route events between dumps
// apply at once. One session per table ("kernel-table#100"), so each table replays alone.
//
// One RIB entry per prefix: when two source tables (or two metrics in one) hold the same
// prefix, a dump takes the first seen (tables in configured order; the kernel lists one
// prefix's routes by ascending metric); between dumps the latest event wins.
import type { RouteDumpSink } from '../../kernel/kernel.js';
import type { KernelRoute, ScannedRoute } from '../../kernel/rtnetlink-codec.js';
import type { Logger } from '../../log.js';
import { makePrefix } from '../../model/ipv4-prefix.js';
import { isOurs } from '../../model/ownership.js';
import type { Rib } from '../../rib/rib.js';
import { SyncSignal, type RouteSource, type SourceTotals } from '../route-source.js';
import {
  KERNEL_TABLE_IGNORE_REASONS, kernelTableVerdict, type KernelTableIgnoreReason, type KernelTableVerdict,
} from './kernel-table-route.js';

export const KERNEL_TABLE_SOURCE = 'kernel-table';

/** Forwardings seen in one dump, by their raw bytes: a million routes share a few next-hop sets. */
const VERDICT_CACHE_MAX = 65_536;

export interface TableDumper {
  dumpTable(table: number, sink: RouteDumpSink): Promise<void>;
}

export interface KernelTableSourceOptions {
  /** sources.kernel.tables: where we read */
  readonly tables: readonly number[];
  /** kernel.table: where the desired routes go */
  readonly destTable: number;
  /** kernel.protocol: our own routes are never taken */
  readonly ownProtocol: number;
  readonly ifname: (ifindex: number) => string | undefined;
  /** an event needs the tables re-read (a held route replaced by one we cannot take) */
  readonly needDump: () => void;
}

type ReasonCounts = Record<KernelTableIgnoreReason, number>;

const zeroCounts = (): ReasonCounts => Object.fromEntries(KERNEL_TABLE_IGNORE_REASONS.map((r) => [r, 0])) as ReasonCounts;

export interface KernelTableStatus {
  readonly tables: readonly number[];
  /** routes of the source tables taken at the last dump */
  readonly taken: number;
  /** routes of the source tables not taken at the last dump, by reason */
  readonly ignored: ReasonCounts;
  /** taken but refused by filters or limits.max-routes, at the last dump */
  readonly refused: number;
  /** same prefix in two source tables or at two metrics: only the first was taken */
  readonly shadowed: number;
  readonly dumps: number;
  readonly events: number;
}

export class KernelTableSource implements RouteSource<KernelTableStatus> {
  readonly name = KERNEL_TABLE_SOURCE;
  private readonly tableSet: ReadonlySet<number>;
  private dumps = 0;
  private events = 0;
  private last = { taken: 0, ignored: zeroCounts(), refused: 0, shadowed: 0 };
  /** ends once, after the first dump of every source table */
  private readonly sync = new SyncSignal();
  /** stopped: dumps and events are no longer taken (they would undo graceful.withdraw-on-exit) */
  private stopped = false;

  constructor(private readonly opts: KernelTableSourceOptions, private readonly rib: Rib, private readonly log: Logger) {
    this.tableSet = new Set(opts.tables);
  }

  static session(table: number): string {
    return `${KERNEL_TABLE_SOURCE}#${table}`;
  }

  /** Nothing to open: the source syncs in the reconciler's first dump (dump()). */
  async start(): Promise<void> {}

  stop(): void {
    this.stopped = true;
  }

  get synced(): boolean {
    return this.sync.synced;
  }

  onSynced(listener: () => void): () => void {
    return this.sync.listen(listener);
  }

  totals(): SourceTotals {
    return { messages: this.events, malformed: 0 };
  }

  /** whether route events of this table are ours to read */
  covers(table: number): boolean {
    return !this.stopped && this.tableSet.has(table);
  }

  /** Re-reads every source table as a replay. Runs inside the reconciler's dump. */
  async dump(kernel: TableDumper): Promise<void> {
    if (this.stopped) return;
    const now = { taken: 0, ignored: zeroCounts(), refused: 0, shadowed: 0 };
    // Prefixes taken by the tables before this one (addr * 64 + len, exact in a double); only
    // kept with several tables. Inside a table the kernel lists one prefix's routes together.
    const seen = this.opts.tables.length > 1 ? new Set<number>() : undefined;
    for (const table of this.opts.tables) {
      const session = KernelTableSource.session(table);
      let cache = new Map<string, KernelTableVerdict>();
      let taken: number[] = [];
      let lastKey = -1;
      let counts = { taken: 0, ignored: zeroCounts(), refused: 0, shadowed: 0 };
      await kernel.dumpTable(table, {
        // again on a retried (interrupted) dump: the replay starts over
        begin: () => {
          this.rib.beginReplay(session);
          cache = new Map();
          taken = [];
          lastKey = -1;
          counts = { taken: 0, ignored: zeroCounts(), refused: 0, shadowed: 0 };
        },
        route: (r: ScannedRoute, decode: () => KernelRoute) => {
          const key = r.dst * 64 + r.dstLen;
          const verdict = this.scannedVerdict(r, decode, cache);
          if (!verdict.ok) {
            counts.ignored[verdict.reason]++;
            return;
          }
          if (key === lastKey || seen?.has(key)) {
            counts.shadowed++;
            return;
          }
          lastKey = key;
          if (seen) taken.push(key);
          counts.taken++;
          const change = this.rib.add(session, { table: this.opts.destTable, prefix: makePrefix(r.dst, r.dstLen), nexthops: verdict.nexthops });
          if (change === 'refused') counts.refused++;
        },
      });
      if (seen) for (const k of taken) seen.add(k);
      const withdrawn = this.rib.endReplay(session, (s) => s === session) ?? 0;
      if (withdrawn > 0) this.log.info({ event: 'kernelTableSwept', table, withdrawn }, 'routes gone from the source table are withdrawn');
      now.taken += counts.taken;
      now.refused += counts.refused;
      now.shadowed += counts.shadowed;
      for (const reason of KERNEL_TABLE_IGNORE_REASONS) now.ignored[reason] += counts.ignored[reason];
    }
    this.logIgnoredChange(now.ignored);
    this.last = now;
    if (++this.dumps === 1) this.sync.ended();
  }

  private scannedVerdict(r: ScannedRoute, decode: () => KernelRoute, cache: Map<string, KernelTableVerdict>): KernelTableVerdict {
    // Runs of routes via the same peer are the common case: compare with the last one first.
    const last = this.lastScan;
    if (last.cache === cache && last.protocol === r.protocol && last.type === r.type && last.bytes === r.forwardingBytes) return last.verdict!;
    // protocol and type are outside the forwarding bytes: the cache key carries them
    const key = `${r.protocol}/${r.type}/${r.forwardingBytes}`;
    let v = cache.get(key);
    if (v === undefined) {
      v = kernelTableVerdict(decode(), this.opts);
      if (cache.size >= VERDICT_CACHE_MAX) cache.clear();
      cache.set(key, v);
    }
    this.lastScan = { cache, protocol: r.protocol, type: r.type, bytes: r.forwardingBytes, verdict: v };
    return v;
  }

  private lastScan: { cache: unknown; protocol: number; type: number; bytes: string; verdict: KernelTableVerdict | undefined } = {
    cache: undefined, protocol: -1, type: -1, bytes: '', verdict: undefined,
  };

  /** A route event in a source table (any protocol but ours). */
  noteRoute(change: 'new' | 'del', r: KernelRoute): void {
    if (!this.covers(r.table)) return;
    this.events++;
    const session = KernelTableSource.session(r.table);
    const prefix = makePrefix(r.dst, r.dstLen);
    const slot = this.rib.slotOf(this.opts.destTable, prefix);
    const heldByTable = slot >= 0 && this.rib.sessionAt(slot) === session;
    if (change === 'del') {
      // A del carries the deleted route's protocol; one of ours there was never taken.
      if (heldByTable && !isOurs(r, this.opts.ownProtocol)) this.rib.withdraw(this.opts.destTable, prefix);
      return;
    }
    const verdict = kernelTableVerdict(r, this.opts);
    if (verdict.ok) {
      this.rib.add(session, { table: this.opts.destTable, prefix, nexthops: verdict.nexthops });
    } else if (heldByTable && verdict.reason !== 'own-protocol') {
      // `ip route replace` to something we cannot take, or another metric beside ours: the
      // event cannot tell which, a dump can.
      this.opts.needDump();
    }
  }

  stats(): KernelTableStatus {
    return { tables: this.opts.tables, ...this.last, ignored: { ...this.last.ignored }, dumps: this.dumps, events: this.events };
  }

  private logIgnoredChange(ignored: ReasonCounts): void {
    const before = this.last.ignored;
    if (KERNEL_TABLE_IGNORE_REASONS.every((r) => before[r] === ignored[r])) return;
    const nonZero = Object.fromEntries(Object.entries(ignored).filter(([, n]) => n > 0));
    if (Object.keys(nonZero).length > 0) {
      this.log.info({ event: 'kernelTableIgnored', ignored: nonZero }, 'routes in the source tables that are not IPv4 via an IPv6 link-local: left alone');
    }
  }
}
