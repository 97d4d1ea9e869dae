// Config (config.ts) is written by hand beside the file schema (schema.ts); this keeps the
// two in step at compile time (`npm run lint` type-checks the tests): every key of the file
// maps to a field of Config, and every field of Config is fed by some key.
import { describe, expect, it } from 'vitest';
import { configFromDocument, type Config, type ConfigFile } from '../../src/config/config.js';
import { parseRtTables } from '../../src/model/route-table.js';

type Nested<T> = NonNullable<T> extends readonly unknown[] ? never : NonNullable<T> extends object ? NonNullable<T> : never;
/** every dotted path into Config, inner objects included */
type Paths<T, P extends string = ''> = { [K in keyof T & string]: `${P}${K}` | (Nested<T[K]> extends never ? never : Paths<Nested<T[K]>, `${P}${K}.`>) }[keyof T & string];
/** the dotted paths of Config's values (arrays are values) */
type Leaves<T, P extends string = ''> = { [K in keyof T & string]: Nested<T[K]> extends never ? `${P}${K}` : Leaves<Nested<T[K]>, `${P}${K}.`> }[keyof T & string];
type Target = Paths<Config> | readonly Paths<Config>[];
/** the file's shape with each value replaced by the Config field(s) it becomes */
type FileMap<T> = { [K in keyof T]: Nested<T[K]> extends never ? Target : FileMap<Nested<T[K]>> };
type Targets<M> = M extends string ? M : M extends readonly (infer E)[] ? E : { [K in keyof M]: Targets<M[K]> }[keyof M];

/** A key added to the schema and not here, or a Config field renamed, fails the build. */
const FILE_TO_CONFIG = {
  log: { level: 'logLevel' },
  kernel: {
    protocol: 'kernel.protocol', metric: 'kernel.metric', table: 'kernel.table', 'rule-priority': 'kernel.rulePriority', mode: 'kernel.mode',
    'gateway-pool': 'kernel.gatewayPool', 'nexthop-objects': 'kernel.nexthopObjects', 'netlink-batch': 'kernel.netlinkBatch', 'event-buffer-bytes': 'kernel.eventBufferBytes',
  },
  interfaces: 'interfaces',
  sources: {
    jsonl: { enabled: 'sources.jsonl.enabled', socket: 'sources.jsonl.socket', 'withdraw-on-disconnect': 'sources.jsonl.withdrawOnDisconnect', 'max-line-bytes': 'sources.jsonl.maxLineBytes' },
    fpm: {
      enabled: 'sources.fpm.enabled', listen: ['sources.fpm.host', 'sources.fpm.port'], protocols: 'sources.fpm.protocols', 'settle-time': 'sources.fpm.settleTimeMs',
      'withdraw-hold': 'sources.fpm.withdrawHoldMs', 'allow-replace': 'sources.fpm.allowReplace',
    },
    gobgp: {
      enabled: 'sources.gobgp.enabled', address: 'sources.gobgp.address', 'max-message-bytes': 'sources.gobgp.maxMessageBytes', 'max-paths': 'sources.gobgp.maxPaths',
      'reconnect-max': 'sources.gobgp.reconnectMaxMs',
    },
    kernel: { tables: 'sources.kernel.tables' },
  },
  control: { socket: 'control.socket' },
  ra: { enabled: 'ra.enabled', 'solicit-on-link-up': 'ra.solicitOnLinkUp' },
  graceful: { 'stale-time': 'graceful.staleTimeMs', 'withdraw-on-exit': 'graceful.withdrawOnExit' },
  limits: { 'max-routes': 'limits.maxRoutes', 'max-legs': 'limits.maxLegs' },
  filters: { default: 'filters.defaultAction', rules: 'filters.rules' },
  metrics: { listen: 'metrics.listen' },
  reconcile: { 'resync-interval': 'reconcile.resyncIntervalMs' },
} as const satisfies FileMap<ConfigFile>;

type Fed = Targets<typeof FILE_TO_CONFIG>;
type Unfed = Exclude<Leaves<Config>, Fed | `${Fed}.${string}`>;
/** A Config field no file key feeds fails the build here, naming the field. */
const everyFieldFed: [Unfed] extends [never] ? true : Unfed = true;

function targets(m: unknown): string[] {
  if (typeof m === 'string') return [m];
  if (Array.isArray(m)) return m as string[];
  return Object.values(m as object).flatMap(targets);
}

describe('Config and the file schema', () => {
  it('every Config field a file key maps to exists in the defaulted configuration', () => {
    expect(everyFieldFed).toBe(true);
    const config = configFromDocument({}, parseRtTables(''));
    const missing = targets(FILE_TO_CONFIG).filter((path) => {
      const parts = path.split('.');
      const parent = parts.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], config);
      return typeof parent !== 'object' || parent === null || !(parts.at(-1)! in parent);
    });
    expect(missing).toEqual([]);
  });
});
