// Which of zebra's routes are our own coming back, and how a session is told its tables.
import { RT_TABLE_MAIN } from '../../model/route-table.js';

export interface FpmSessionOptions {
  /** rtm_protocol values to take (zebra's bgp is 186) */
  readonly protocols: ReadonlySet<number>;
  /** where zebra's main table (254) goes: our kernel.table, so both can live in one namespace */
  readonly mainTable: number;
  readonly ifname: (ifindex: number) => string | undefined;
}

/**
 * Whether an FPM route is one of our own coming back. zebra learns every route the daemon
 * writes as a kernel route and streams it back (rtm_protocol 2, RTA_TABLE = our table): its
 * add is dropped by protocol, and so must its delete be, or every replace we make (a leg
 * leaving on carrier loss, a drift repair) is followed by zebra's RTM_DELROUTE of the old
 * copy and we withdraw our own route for good. A route in the table zebra's main maps to
 * (kernel.table, when that is not main) is ours whatever its protocol: zebra never writes
 * there itself.
 */
export function isEcho(opts: FpmSessionOptions, table: number, protocol: number): 'protocol' | 'own-table' | undefined {
  if (opts.mainTable !== RT_TABLE_MAIN && table === opts.mainTable) return 'own-table';
  if (!opts.protocols.has(protocol)) return 'protocol';
  return undefined;
}

