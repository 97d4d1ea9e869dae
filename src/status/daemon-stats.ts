// What the daemon says about itself: each part's stats() (copies), combined by
// Daemon.status(). The control socket's JSON (snapshot.ts), the metrics and the service read
// only this, so a part can change inside without breaking the CLI or the metric names.
import type { PeerEvidenceStats } from '../peers/peer-evidence.js';
import type { RaCounters } from '../ra/ra-listener.js';
import type { ReconcilerStats } from '../reconcile/reconciler.js';
import type { RibStats } from '../rib/rib.js';
import type { FpmStatus } from '../sources/fpm/fpm-server.js';
import type { GobgpStatus } from '../sources/gobgp/gobgp-source.js';
import type { JsonlStats } from '../sources/jsonl-server.js';
import type { KernelTableStatus } from '../sources/kernel-table/kernel-table-source.js';
import type { SourceTotals } from '../sources/route-source.js';
import type { ControlStats } from './control-server.js';

/** one enabled source: what status shows of it, its totals (metrics), and its initial sync */
export interface SourceStatus<S> {
  readonly stats: S;
  readonly totals: SourceTotals;
  readonly synced: boolean;
}

export interface SourcesStats {
  readonly jsonl?: SourceStatus<JsonlStats>;
  readonly fpm?: SourceStatus<FpmStatus>;
  readonly gobgp?: SourceStatus<GobgpStatus>;
  readonly kernelTable?: SourceStatus<KernelTableStatus>;
  /** every enabled source has synced, or graceful.stale-time is over */
  readonly ready: boolean;
}

interface OwnTableStats {
  readonly id: number;
  readonly rulePriority: number | undefined;
  /** whether a rule is kept at all (kernel.rule-priority set) */
  readonly keepsRule: boolean;
  readonly ruleInstalled: boolean;
  readonly throwRoutes: number;
}

interface LinkStats {
  readonly name: string;
  readonly ifindex: number;
  readonly up: boolean;
}

export interface DaemonStats {
  readonly version: string;
  readonly startedAtMs: number;
  /** when this was taken, on the daemon's clock */
  readonly nowMs: number;
  readonly rib: RibStats;
  readonly reconciler: ReconcilerStats;
  readonly table: OwnTableStats;
  /** links by ifindex */
  readonly links: readonly LinkStats[];
  readonly sources: SourcesStats;
  /** absent when ra.enabled is off */
  readonly ra: RaCounters | undefined;
  readonly peers: PeerEvidenceStats;
  readonly control: ControlStats;
  readonly reloads: { readonly applied: number; readonly failed: number };
  /** netlink event-socket overruns (ENOBUFS), each followed by a resync */
  readonly netlinkOverruns: number;
  /** `run --dry-run`: the kernel port is a fake seeded from the real kernel, nothing is written */
  readonly dryRun: boolean;
}
