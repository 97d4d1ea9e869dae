// The dry run's parts for the daemon: its kernel port (the seeded fake) and the control
// command `plan`, which compares the real kernel with the fake after the daemon's passes.
import type { Config } from '../config/config.js';
import { NetlinkKernel } from '../kernel/kernel.js';
import type { Logger } from '../log.js';
import { RT_TABLE_MAIN } from '../model/route-table.js';
import type { ListingView } from '../status/daemon-view.js';
import { peerStatuses, routeStatuses } from '../status/snapshot.js';
import { DryRunKernel, type KernelReader } from './dry-run-kernel.js';
import { takePicture } from './kernel-picture.js';
import { desiredKey, placeholderOwnerKey, planDiff, type PlanItem } from './plan-diff.js';

/** items and pending routes one answer lists at most (a first replay of a full table would be millions); counts are complete */
const MAX_LISTED = 10_000;

/** A route a source wants that would not be installed, and why (as `routes --pending` says). */
interface PlanPending {
  readonly table: number;
  readonly prefix: string;
  readonly nexthops: readonly string[];
  readonly source: string | null;
  readonly reason: string;
}

/** What `plan` answers: the control socket's JSON, the CLI's table. */
export interface PlanAnswer {
  readonly dryRun: true;
  /** false until every source has synced (or graceful.stale-time): leftovers of ours are not judged before */
  readonly sweepAllowed: boolean;
  readonly items: readonly PlanItem[];
  readonly pending: readonly PlanPending[];
  readonly counts: { readonly install: number; readonly change: number; readonly remove: number; readonly pending: number };
  /** how many items and pending routes are counted but not listed (over MAX_LISTED each) */
  readonly unlisted: { readonly items: number; readonly pending: number };
}

/** what plan reads of the daemon: the listings, and when its queued passes are done */
export interface PlanContext {
  readonly listings: ListingView;
  idle(): Promise<void>;
  sweeping(): boolean;
}

export class DryRun {
  private constructor(readonly kernel: DryRunKernel, private readonly protocol: number) {}

  /** Reads the real kernel (dumps and events, never a write) into a fake the daemon then runs on. */
  static async start(config: Config, log: Logger, reader?: KernelReader): Promise<DryRun> {
    const k = config.kernel;
    const real = reader ?? new NetlinkKernel(k.netlinkBatch, k.eventBufferBytes, true);
    const tables = [...new Set([RT_TABLE_MAIN, k.table, ...config.sources.kernel.tables])];
    return new DryRun(await DryRunKernel.seeded(real, { protocol: k.protocol, tables }, log), k.protocol);
  }

  /** After the passes the daemon has queued: the real kernel (dumped now) against the fake. */
  async plan(d: PlanContext): Promise<PlanAnswer> {
    await d.idle();
    const real = await takePicture(this.kernel.real, this.protocol);
    const fake = await takePicture(this.kernel, this.protocol);
    const routes = routeStatuses(d.listings, false);
    const desired = new Map(routes.filter((r) => r.state !== 'refused').map((r) => [desiredKey(r.table, r.prefix), { source: r.source, ...(r.state === 'pending' ? { pending: r.reason ?? '' } : {}) }]));
    const placeholders = new Map<string, { linkLocal: string; mac: string | null; evidence: string | null }>();
    for (const p of peerStatuses(d.listings, 0)) if (p.placeholder) placeholders.set(placeholderOwnerKey(p.interface, p.placeholder), p);
    const items = planDiff(real, fake, { protocol: this.protocol, desired, placeholders });
    const pending = routes.filter((r) => r.state === 'pending').map((r) => ({ table: r.table, prefix: r.prefix, nexthops: r.nexthops, source: r.source, reason: r.reason ?? '' }));
    const count = (a: PlanItem['action']): number => items.filter((i) => i.action === a).length;
    return {
      dryRun: true,
      sweepAllowed: d.sweeping(),
      items: items.slice(0, MAX_LISTED),
      pending: pending.slice(0, MAX_LISTED),
      counts: { install: count('install'), change: count('change'), remove: count('remove'), pending: pending.length },
      unlisted: { items: Math.max(0, items.length - MAX_LISTED), pending: Math.max(0, pending.length - MAX_LISTED) },
    };
  }
}
