// What the configuration knows about FRR's zebra: the route protocol numbers it writes, the
// ones it takes for its own, and the set-up that would make it fight the daemon.
import { RT_TABLE_MAIN } from '../model/route-table.js';
import { ConfigError, type ConfigProblem } from './problems.js';

/** rtm_protocol numbers as zebra writes them (FRR's rt_netlink.h; iproute2's rt_protos). */
const ZEBRA_PROTOCOLS: ReadonlyMap<string, number> = new Map(Object.entries({
  kernel: 2, boot: 3, zebra: 11, bird: 12, babel: 42, bgp: 186, isis: 187, ospf: 188, rip: 189, ripng: 190,
  eigrp: 192, ldp: 193, sharp: 194, pbr: 195, static: 196, openfabric: 197,
}));

/**
 * Protocols FRR's zebra takes for its own in the kernel: it deletes such routes when it
 * starts and re-installs them when someone else deletes them (zebra -K documents the sweep).
 */
export const FRR_OWN_PROTOCOLS: ReadonlySet<number> = new Set([11, 42, 186, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196, 197, 198]);

/** What of a Config the zebra check reads (structural: config.ts re-exports this module). */
interface ZebraFacing {
  readonly kernel: { readonly protocol: number; readonly table: number };
  readonly sources: { readonly fpm: { readonly enabled: boolean } };
}

/** The table zebra writes its own routes into (main). */
const ZEBRA_TABLE = RT_TABLE_MAIN;

const protocolName = (n: number): string => {
  const name = [...ZEBRA_PROTOCOLS].find(([, v]) => v === n)?.[0];
  return name === undefined ? String(n) : `${n} (${name})`;
};

/** sources.fpm.protocols: names from rt_protos or numbers 0-255. */
export function fpmProtocols(values: readonly (number | string)[], problems: ConfigProblem[]): number[] {
  const protocols: number[] = [];
  values.forEach((p, i) => {
    const n = typeof p === 'number' ? p : /^\d+$/.test(p) ? Number(p) : ZEBRA_PROTOCOLS.get(p);
    if (n === undefined || n > 255) problems.push({ path: `sources.fpm.protocols.${i}`, value: p, message: `not a route protocol (${[...ZEBRA_PROTOCOLS.keys()].join(', ')} or 0-255)` });
    else protocols.push(n);
  });
  return protocols;
}

/**
 * A configuration that would fight a zebra in the same namespace: routes of a protocol
 * zebra takes for its own, in the table zebra writes, while zebra feeds us over FPM. zebra
 * deletes such routes when it starts and adopts them as its own, and we would take its
 * routes for ours. Refused at start and by check-config (not when a CLI client only reads
 * a socket path); an FRR protocol in another table is only warned about (the daemon).
 */
export function zebraConflicts(config: ZebraFacing): ConfigProblem[] {
  const { protocol, table } = config.kernel;
  if (!config.sources.fpm.enabled || !FRR_OWN_PROTOCOLS.has(protocol) || table !== ZEBRA_TABLE) return [];
  return [{
    path: 'kernel.protocol',
    value: protocol,
    message: `${protocolName(protocol)} is a protocol FRR's zebra takes for its own, and kernel.table ${table} (main) is the table zebra writes, with sources.fpm.enabled true: `
      + 'zebra would delete and adopt our routes and we would take its routes for ours. Set kernel.protocol to one FRR does not use (200, say) and kernel.table to a table of our own, or sources.fpm.enabled: false',
  }];
}

/** Throws the problems of zebraConflicts as CONFIG_INVALID (exit 2). */
export function assertStartable(config: ZebraFacing, source: string): void {
  const problems = zebraConflicts(config);
  if (problems.length > 0) throw new ConfigError(source, problems);
}
