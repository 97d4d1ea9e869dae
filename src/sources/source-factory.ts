// The route sources the configuration enables, built with their options from it. Nothing
// is opened here: a SourceSet starts them.
import { FRR_OWN_PROTOCOLS, type Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { TableNames } from '../model/route-table.js';
import type { Rib } from '../rib/rib.js';
import type { VrfRoutes } from '../rib/vrf-routes.js';
import type { Clock } from '../runtime/clock.js';
import { FpmSource } from './fpm/fpm-server.js';
import { GobgpSource } from './gobgp/gobgp-source.js';
import { JsonlSource } from './jsonl-server.js';
import { KERNEL_TABLE_SOURCE, KernelTableSource } from './kernel-table/kernel-table-source.js';
import type { RouteSource } from './route-source.js';
import type { SourcesStats, SourceStatus } from '../status/daemon-stats.js';

export interface SourceContext {
  readonly config: Config;
  readonly tables: TableNames;
  readonly rib: Rib;
  readonly vrfRoutes: VrfRoutes;
  readonly clock: Clock;
  /** a child logger per source */
  readonly log: (component: string) => Logger;
  /** an interface's name by ifindex, as the kernel has it now */
  readonly ifname: (ifindex: number) => string | undefined;
  /** the table of a VRF device by name */
  readonly vrfTable: (name: string) => number | undefined;
  /** the kernel-table source needs its tables re-read */
  readonly needDump: () => void;
}

export interface Sources {
  readonly fpm: FpmSource | undefined;
  readonly gobgp: GobgpSource | undefined;
  readonly jsonl: JsonlSource | undefined;
  readonly kernelTables: KernelTableSource | undefined;
  /** the enabled ones, in the order they start */
  readonly all: readonly RouteSource[];
}

export function createSources(c: SourceContext): Sources {
  const { config, rib } = c;
  const { fpm: f, gobgp: g, jsonl: j } = config.sources;
  const fpm = f.enabled
    ? new FpmSource({
      host: f.host, port: f.port, protocols: new Set(f.protocols), mainTable: config.kernel.table, settleTimeMs: f.settleTimeMs, withdrawHoldMs: f.withdrawHoldMs,
      staleTimeMs: config.graceful.staleTimeMs, allowReplace: f.allowReplace, ifname: c.ifname, clock: c.clock,
    }, rib, c.log('fpm'))
    : undefined;
  const gobgp = g.enabled
    ? new GobgpSource({
      address: g.address, table: config.kernel.table, staleTimeMs: config.graceful.staleTimeMs, maxMessageBytes: g.maxMessageBytes, maxPaths: g.maxPaths,
      reconnectMaxMs: g.reconnectMaxMs, clock: c.clock,
    }, rib, c.log('gobgp'))
    : undefined;
  const jsonl = j.enabled
    ? new JsonlSource({
      socket: j.socket, withdrawOnDisconnect: j.withdrawOnDisconnect, maxLineBytes: j.maxLineBytes,
      context: { defaultTable: config.kernel.table, tables: c.tables, vrfTable: c.vrfTable }, vrfRoutes: c.vrfRoutes,
    }, rib, c.log('jsonl'))
    : undefined;
  const kernelTables = config.sources.kernel.tables.length > 0
    ? new KernelTableSource({
      tables: config.sources.kernel.tables, destTable: config.kernel.table, ownProtocol: config.kernel.protocol, ifname: c.ifname, needDump: c.needDump,
    }, rib, c.log(KERNEL_TABLE_SOURCE))
    : undefined;
  const all = [fpm, gobgp, jsonl, kernelTables].filter((s): s is NonNullable<typeof s> => s !== undefined);
  return { fpm, gobgp, jsonl, kernelTables, all };
}

/** each enabled source's stats, totals and sync, for Daemon.status() */
export function sourcesStats(s: Sources, ready: boolean): SourcesStats {
  const status = <S extends object>(src: RouteSource<S>): SourceStatus<S> => ({ stats: src.stats(), totals: src.totals(), synced: src.synced });
  return {
    ...(s.jsonl ? { jsonl: status(s.jsonl) } : {}),
    ...(s.fpm ? { fpm: status(s.fpm) } : {}),
    ...(s.gobgp ? { gobgp: status(s.gobgp) } : {}),
    ...(s.kernelTables ? { kernelTable: status(s.kernelTables) } : {}),
    ready,
  };
}

/**
 * In main (254) a protocol zebra calls its own is refused at start (zebraConflicts); in
 * another table zebra only sweeps and adopts if it ever writes there (a VRF's table, say):
 * worth a warning.
 */
export function warnIfSharedWithZebra(config: Config, log: Logger): void {
  if (!config.sources.fpm.enabled || !FRR_OWN_PROTOCOLS.has(config.kernel.protocol)) return;
  log.warn({ event: 'protocolSharedWithZebra', protocol: config.kernel.protocol, table: config.kernel.table },
    'kernel.protocol is one zebra treats as its own: should zebra ever write this table it deletes our routes when it starts and adopts them; choose a protocol FRR does not use (200, say)');
}
