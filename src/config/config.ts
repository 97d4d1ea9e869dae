import { Rfc5549Error } from '../errors.js';
import { escapeText, excerpt } from '../excerpt.js';
import { interfaceMatcher, parseInterfaceName } from '../model/interface-name.js';
import { resolveTable, RT_TABLE_MAIN, type TableNames } from '../model/route-table.js';
import { maskOf, parseIpv4Prefix, type ParseResult } from '../model/ipv4-prefix.js';
import { parsePrefixRule, type PrefixFilter, type PrefixRule } from '../model/prefix-filter.js';
import { MAX_VIA_LEGS } from '../rib/route-validation.js';
import { configFileSchema } from './schema.js';
import { parseConfigYaml } from './yaml-document.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** The validated, defaulted, deep-frozen configuration the daemon runs on. */
export type KernelMode = 'neighbor' | 'via';

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
    /** neighbor: placeholder neighbour + onlink route; via: RTA_VIA to the peer's link-local */
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

interface GatewayRange {
  readonly first: number;
  readonly size: number;
  /** as configured, for messages */
  readonly text: string;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

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

/** The kernel's own rules (`ip rule show` on a fresh namespace): a rule of ours must not sit at their preference. */
const KERNEL_RULE_PRIORITIES: ReadonlyMap<number, string> = new Map([
  [0, 'preference 0 is the kernel\'s "lookup local" rule'],
  [32766, 'preference 32766 is the kernel\'s "lookup main" rule'],
  [32767, 'preference 32767 is the kernel\'s "lookup default" rule'],
]);

/** The table zebra writes its own routes into (main). */
const ZEBRA_TABLE = RT_TABLE_MAIN;

const protocolName = (n: number): string => {
  const name = Object.entries(ZEBRA_PROTOCOLS).find(([, v]) => v === n)?.[0];
  return name === undefined ? String(n) : `${n} (${name})`;
};

/**
 * A configuration that would fight a zebra in the same namespace: routes of a protocol
 * zebra takes for its own, in the table zebra writes, while zebra feeds us over FPM. zebra
 * deletes such routes when it starts and adopts them as its own, and we would take its
 * routes for ours. Refused at start and by check-config (not when a CLI client only reads
 * a socket path); an FRR protocol in another table is only warned about (the daemon).
 */
export function zebraConflicts(config: Config): ConfigProblem[] {
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
export function assertStartable(config: Config, source: string): void {
  const problems = zebraConflicts(config);
  if (problems.length > 0) throw new ConfigError(source, problems);
}

export interface ConfigProblem {
  readonly path: string;
  readonly value: unknown;
  readonly message: string;
}

export class ConfigError extends Rfc5549Error {
  readonly problems: readonly ConfigProblem[];
  constructor(source: string, problems: readonly ConfigProblem[]) {
    super('CONFIG_INVALID', `${escapeText(source)}: ${problems.map(formatProblem).join('; ')}`);
    this.problems = problems;
  }
}

/** One problem as operators read it (check-config, reloadFailed): bounded, control bytes escaped. */
export function formatProblem(p: ConfigProblem): string {
  const value = p.value === undefined ? '' : ` (value ${excerpt(p.value)})`;
  return `${escapeText(p.path || '(root)')}: ${escapeText(p.message)}${value}`;
}

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = doc;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, k)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Validates a parsed document; every problem is reported with its path and value. */
export function configFromDocument(doc: unknown, tables: TableNames, source = 'config'): Config {
  const parsed = configFileSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    throw new ConfigError(
      source,
      parsed.error.issues.map((i) => {
        const path = i.path.map(String).join('.');
        // For unknown keys zod points at the parent; name the key itself.
        if (i.code === 'unrecognized_keys') {
          const keys = (i as { keys: string[] }).keys;
          const shown = keys.slice(0, 10).map((k) => excerpt(k, 40)).join(', ') + (keys.length > 10 ? ` and ${keys.length - 10} more` : '');
          return { path: [...i.path.map(String), keys[0]].filter(Boolean).join('.'), value: undefined, message: `unknown key${keys.length > 1 ? 's' : ''} ${shown}` };
        }
        return { path, value: valueAt(doc, i.path), message: i.message };
      }),
    );
  }
  const f = parsed.data;
  const problems: ConfigProblem[] = [];
  const table = resolveTable(f.kernel.table, tables);
  if (!table.ok) problems.push({ path: 'kernel.table', value: f.kernel.table, message: table.error });
  const rulePriority = f.kernel['rule-priority'];
  if (rulePriority !== null && KERNEL_RULE_PRIORITIES.has(rulePriority)) {
    problems.push({ path: 'kernel.rule-priority', value: rulePriority, message: `${KERNEL_RULE_PRIORITIES.get(rulePriority)}; choose another (1-32765), or null for no rule` });
  }
  const pool = gatewayRange(f.kernel['gateway-pool']);
  if (!pool.ok) problems.push({ path: 'kernel.gateway-pool', value: f.kernel['gateway-pool'], message: pool.error });
  f.interfaces.forEach((name, i) => {
    const check = parseInterfaceName(name.replace(/[*?]/g, 'x'));
    if (!check.ok) problems.push({ path: `interfaces.${i}`, value: name, message: 'not an interface name or glob' });
  });
  const fpm = f.sources.fpm;
  const fpmListen = hostPort(fpm.listen, 'sources.fpm.listen', problems);
  const gobgp = f.sources.gobgp;
  hostPort(gobgp.address, 'sources.gobgp.address', problems);
  const metricsListen = f.metrics.listen === null ? undefined : hostPort(f.metrics.listen, 'metrics.listen', problems);
  const rules: PrefixRule[] = [];
  f.filters.rules.forEach((r, i) => {
    const rule = parsePrefixRule(r);
    if (rule.ok) rules.push(rule.value);
    else problems.push({ path: `filters.rules.${i}`, value: r, message: rule.error });
  });
  const protocols: number[] = [];
  fpm.protocols.forEach((p, i) => {
    const n = typeof p === 'number' ? p : /^\d+$/.test(p) ? Number(p) : ZEBRA_PROTOCOLS.get(p);
    if (n === undefined || n > 255) problems.push({ path: `sources.fpm.protocols.${i}`, value: p, message: `not a route protocol (${[...ZEBRA_PROTOCOLS.keys()].join(', ')} or 0-255)` });
    else protocols.push(n);
  });
  if (f.kernel.mode === 'via' && f.limits['max-legs'] > MAX_VIA_LEGS) {
    problems.push({ path: 'limits.max-legs', value: f.limits['max-legs'], message: `at most ${MAX_VIA_LEGS} with kernel.mode via: a longer RTA_VIA route is left out of kernel dumps` });
  }
  const sourceTables = kernelSourceTables(f.sources.kernel.tables, tables, table.ok ? table.value : undefined, problems);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return deepFreeze({
    logLevel: f.log.level,
    kernel: {
      protocol: f.kernel.protocol,
      metric: f.kernel.metric,
      table: table.ok ? table.value : RT_TABLE_MAIN,
      // main is looked up by the kernel's own rule: a rule of ours for it would only duplicate that
      rulePriority: rulePriority === null || (table.ok && table.value === RT_TABLE_MAIN) ? undefined : rulePriority,
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
        settleTimeMs: Math.round(fpm['settle-time'] * 1000),
        withdrawHoldMs: Math.round(fpm['withdraw-hold'] * 1000),
        allowReplace: fpm['allow-replace'],
      },
      gobgp: {
        enabled: gobgp.enabled,
        address: gobgp.address,
        maxMessageBytes: gobgp['max-message-bytes'],
        maxPaths: gobgp['max-paths'],
        reconnectMaxMs: Math.round(gobgp['reconnect-max'] * 1000),
      },
      kernel: { tables: sourceTables },
    },
    control: { socket: f.control.socket },
    ra: { enabled: f.ra.enabled, solicitOnLinkUp: f.ra['solicit-on-link-up'] },
    graceful: { staleTimeMs: Math.round(f.graceful['stale-time'] * 1000), withdrawOnExit: f.graceful['withdraw-on-exit'] },
    reconcile: { resyncIntervalMs: Math.round(f.reconcile['resync-interval'] * 1000) },
    limits: { maxRoutes: f.limits['max-routes'], maxLegs: f.limits['max-legs'] },
    filters: { defaultAction: f.filters.default, rules },
    metrics: { listen: metricsListen },
  });
}

/** 0 unspec, 253 default, 254 main, 255 local: tables the kernel forwards from or means itself */
const RESERVED_SOURCE_TABLES = new Set([0, 253, 254, 255]);

/**
 * sources.kernel.tables: read, never written. A table the daemon writes (kernel.table) would
 * feed our own routes back to us; main, default and local are forwarded from, so the
 * speaker's own routes there already forward and ours would only sit beside them.
 */
function kernelSourceTables(values: readonly (number | string)[], names: TableNames, writeTable: number | undefined, problems: ConfigProblem[]): number[] {
  const out: number[] = [];
  values.forEach((v, i) => {
    const path = `sources.kernel.tables.${i}`;
    const t = resolveTable(v, names);
    if (!t.ok) problems.push({ path, value: v, message: t.error });
    else if (RESERVED_SOURCE_TABLES.has(t.value)) problems.push({ path, value: v, message: 'must not be 0, 253 (default), 254 (main) or 255 (local): a source table is one nobody forwards from' });
    else if (t.value === writeTable) problems.push({ path, value: v, message: `is kernel.table (${writeTable}), the table the daemon writes; sources.kernel.tables must name tables it only reads` });
    else if (out.includes(t.value)) problems.push({ path, value: v, message: `table ${t.value} is named twice` });
    else out.push(t.value);
  });
  return out;
}

const LINK_LOCAL_V4 = 0xa9fe0000; // 169.254.0.0/16

/**
 * A pool prefix to its host addresses. It must lie in 169.254.0.0/16: a placeholder is a
 * neighbour entry with a fake address, and anywhere else it could shadow a real host.
 */
function gatewayRange(text: string): ParseResult<GatewayRange> {
  const p = parseIpv4Prefix(text);
  if (!p.ok) return p;
  const { addr, len } = p.value;
  if (len < 16 || (addr & maskOf(16)) >>> 0 !== LINK_LOCAL_V4) return { ok: false, error: 'must lie inside 169.254.0.0/16 (IPv4 link-local), so that a placeholder never shadows a real address' };
  if (len > 30) return { ok: false, error: 'must be /30 or shorter (a pool needs at least two host addresses)' };
  return { ok: true, value: { first: addr + 1, size: 2 ** (32 - len) - 2, text } };
}

function hostPort(text: string, path: string, problems: ConfigProblem[]): HostPort {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(text)!;
  const port = Number(m[2]);
  if (port < 1 || port > 65_535) problems.push({ path, value: text, message: 'port must be 1 to 65535' });
  return { host: m[1]!, port };
}

export function configFromYaml(text: string, tables: TableNames, source = 'config'): Config {
  const doc = parseConfigYaml(text);
  if (!doc.ok) throw new ConfigError(source, [doc.problem]);
  return configFromDocument(doc.value, tables, source);
}

export function managesInterface(config: Config): (name: string) => boolean {
  return interfaceMatcher(config.interfaces);
}
