// The configuration the daemon runs on, from the file format (schema.ts). The checks that
// need more than the schema live beside it, one job each: zebra.ts, tables.ts,
// addresses.ts, interfaces.ts; problems.ts says how a problem is reported.
//
// Config is written out by hand, not z.output of the schema: the file is kebab-case in
// operators' units (seconds, `host:port`, table names), the daemon runs on camelCase in ms
// with tables resolved against /etc/iproute2 (known only at load time, so no static schema
// can transform them). test/unit/config-shape.test.ts checks at compile time that every key
// of the file lands in a field of Config and every field comes from a key.
import type { z } from 'zod';
import type { TableNames } from '../model/route-table.js';
import { parsePrefixRule, type PrefixFilter, type PrefixRule } from '../model/prefix-filter.js';
import { MAX_VIA_LEGS } from '../rib/route-validation.js';
import { gatewayRange, hostPort, type GatewayRange, type HostPort } from './addresses.js';
import { checkInterfaceGlobs } from './interfaces.js';
import { ConfigError, schemaProblems, type ConfigProblem } from './problems.js';
import { configFileSchema } from './schema.js';
import { kernelSourceTables, writeTable } from './tables.js';
import { parseConfigYaml } from './yaml-document.js';
import { fpmProtocols } from './zebra.js';

// Facade: what the rest of the daemon imports from the configuration.
export { ConfigError, formatProblem, type ConfigProblem } from './problems.js';
export { assertStartable, FRR_OWN_PROTOCOLS, zebraConflicts } from './zebra.js';
export { managesInterface } from './interfaces.js';
export type { HostPort } from './addresses.js';

/** The file format as the schema hands it over (defaults filled in). */
export type ConfigFile = z.output<typeof configFileSchema>;
export type LogLevel = ConfigFile['log']['level'];
/** neighbor: placeholder neighbour + onlink route; via: RTA_VIA to the peer's link-local */
export type KernelMode = ConfigFile['kernel']['mode'];

/** The validated, defaulted, deep-frozen configuration the daemon runs on. */
export interface Config {
  readonly logLevel: LogLevel;
  readonly kernel: {
    readonly protocol: number;
    readonly metric: number;
    readonly table: number;
    /**
     * preference of the policy rule `lookup <table>` the daemon keeps (FRA_PROTOCOL ours);
     * undefined: no rule (rule-priority null, or the table is main)
     */
    readonly rulePriority: number | undefined;
    readonly mode: KernelMode;
    /** placeholder gateways: the pool's host addresses, first + 0 .. first + size - 1 */
    readonly gatewayPool: GatewayRange;
    /** routes by nexthop object id (RTA_NH_ID) instead of gateways */
    readonly nexthopObjects: boolean;
    readonly netlinkBatch: number;
    readonly eventBufferBytes: number;
  };
  readonly interfaces: readonly string[];
  readonly sources: {
    readonly jsonl: {
      readonly enabled: boolean;
      readonly socket: string;
      readonly withdrawOnDisconnect: boolean;
      readonly maxLineBytes: number;
    };
    readonly fpm: {
      readonly enabled: boolean;
      readonly host: string;
      readonly port: number;
      readonly protocols: readonly number[];
      readonly settleTimeMs: number;
      readonly withdrawHoldMs: number;
      readonly allowReplace: boolean;
    };
    readonly gobgp: {
      readonly enabled: boolean;
      /** host:port as configured, for the gRPC channel */
      readonly address: string;
      readonly maxMessageBytes: number;
      readonly maxPaths: number;
      readonly reconnectMaxMs: number;
    };
    readonly kernel: {
      /** tables whose routes are read as a source; never one the daemon writes */
      readonly tables: readonly number[];
    };
  };
  readonly control: { readonly socket: string };
  readonly ra: { readonly enabled: boolean; readonly solicitOnLinkUp: boolean };
  readonly graceful: { readonly staleTimeMs: number; readonly withdrawOnExit: boolean };
  readonly reconcile: { readonly resyncIntervalMs: number };
  readonly limits: { readonly maxRoutes: number; readonly maxLegs: number };
  readonly filters: PrefixFilter;
  readonly metrics: { readonly listen: HostPort | undefined };
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

const ms = (seconds: number): number => Math.round(seconds * 1000);

/** Validates a parsed document; every problem is reported with its path and value. */
export function configFromDocument(doc: unknown, tables: TableNames, source = 'config'): Config {
  const parsed = configFileSchema.safeParse(doc ?? {});
  if (!parsed.success) throw new ConfigError(source, schemaProblems(doc, parsed.error.issues));
  const f = parsed.data;
  const problems: ConfigProblem[] = [];
  const write = writeTable(f.kernel.table, f.kernel['rule-priority'], tables, problems);
  const pool = gatewayRange(f.kernel['gateway-pool']);
  if (!pool.ok) problems.push({ path: 'kernel.gateway-pool', value: f.kernel['gateway-pool'], message: pool.error });
  checkInterfaceGlobs(f.interfaces, problems);
  const { fpm, gobgp } = f.sources;
  const fpmListen = hostPort(fpm.listen, 'sources.fpm.listen', problems);
  hostPort(gobgp.address, 'sources.gobgp.address', problems);
  const metricsListen = f.metrics.listen === null ? undefined : hostPort(f.metrics.listen, 'metrics.listen', problems);
  const rules: PrefixRule[] = [];
  f.filters.rules.forEach((r, i) => {
    const rule = parsePrefixRule(r);
    if (rule.ok) rules.push(rule.value);
    else problems.push({ path: `filters.rules.${i}`, value: r, message: rule.error });
  });
  const protocols = fpmProtocols(fpm.protocols, problems);
  if (f.kernel.mode === 'via' && f.limits['max-legs'] > MAX_VIA_LEGS) {
    problems.push({ path: 'limits.max-legs', value: f.limits['max-legs'], message: `at most ${MAX_VIA_LEGS} with kernel.mode via: a longer RTA_VIA route is left out of kernel dumps` });
  }
  const sourceTables = kernelSourceTables(f.sources.kernel.tables, tables, write.resolved ? write.table : undefined, problems);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return deepFreeze({
    logLevel: f.log.level,
    kernel: {
      protocol: f.kernel.protocol,
      metric: f.kernel.metric,
      table: write.table,
      rulePriority: write.rulePriority,
      mode: f.kernel.mode,
      gatewayPool: pool.ok ? pool.value : { first: 0, size: 0, text: '' },
      nexthopObjects: f.kernel['nexthop-objects'],
      netlinkBatch: f.kernel['netlink-batch'],
      eventBufferBytes: f.kernel['event-buffer-bytes'],
    },
    interfaces: [...f.interfaces],
    sources: {
      jsonl: {
        enabled: f.sources.jsonl.enabled,
        socket: f.sources.jsonl.socket,
        withdrawOnDisconnect: f.sources.jsonl['withdraw-on-disconnect'],
        maxLineBytes: f.sources.jsonl['max-line-bytes'],
      },
      fpm: {
        enabled: fpm.enabled,
        host: fpmListen.host,
        port: fpmListen.port,
        protocols,
        settleTimeMs: ms(fpm['settle-time']),
        withdrawHoldMs: ms(fpm['withdraw-hold']),
        allowReplace: fpm['allow-replace'],
      },
      gobgp: {
        enabled: gobgp.enabled,
        address: gobgp.address,
        maxMessageBytes: gobgp['max-message-bytes'],
        maxPaths: gobgp['max-paths'],
        reconnectMaxMs: ms(gobgp['reconnect-max']),
      },
      kernel: { tables: sourceTables },
    },
    control: { socket: f.control.socket },
    ra: { enabled: f.ra.enabled, solicitOnLinkUp: f.ra['solicit-on-link-up'] },
    graceful: { staleTimeMs: ms(f.graceful['stale-time']), withdrawOnExit: f.graceful['withdraw-on-exit'] },
    reconcile: { resyncIntervalMs: ms(f.reconcile['resync-interval']) },
    limits: { maxRoutes: f.limits['max-routes'], maxLegs: f.limits['max-legs'] },
    filters: { defaultAction: f.filters.default, rules },
    metrics: { listen: metricsListen },
  });
}

export function configFromYaml(text: string, tables: TableNames, source = 'config'): Config {
  const doc = parseConfigYaml(text);
  if (!doc.ok) throw new ConfigError(source, [doc.problem]);
  return configFromDocument(doc.value, tables, source);
}
