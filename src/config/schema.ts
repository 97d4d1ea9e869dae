import { z } from 'zod';
import { DEFAULT_MAX_LEGS, MAX_LEGS_CEILING } from '../rib/route-validation.js';

// The file format, in the kebab-case operators write. Every default here is the
// embedded default configuration, and config/rfc5549d.yaml repeats them with comments
// (a unit test keeps the two equal).
const seconds = (dflt: number) => z.number().positive().max(86_400).default(dflt);
// List caps: far above any real config, low enough that validating and applying a list
// stays in milliseconds (the file itself is capped at MAX_CONFIG_BYTES before parsing).
export const MAX_INTERFACES = 4096;
export const MAX_FILTER_RULES = 5000;
export const MAX_FPM_PROTOCOLS = 32;
const atMost = (n: number, what: string) => ({ message: `at most ${n} ${what}` });
const hostPort = (example: string) => z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):\d{1,5}$/, `expected host:port, e.g. ${example}`);

export const configFileSchema = z.strictObject({
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    })
    .prefault({}),
  kernel: z
    .strictObject({
      // 0-4 are the kernel's own (unspec, redirect, kernel, boot, static): owning them
      // would let the daemon delete routes it never made.
      // 200: no FRR daemon's number (zebra takes routes of its own numbers for its own, so
      // 186 "bgp" would be deleted and adopted by a zebra in this namespace); named
      // "rfc5549d" by config/rt_protos.d/rfc5549d.conf.
      protocol: z.number().int().min(5).max(255).default(200),
      metric: z.number().int().min(0).max(0xffffffff).default(20),
      // our own table, not main: zebra writes main, and our rule puts this one ahead of it
      table: z.union([z.number(), z.string()]).default(5549),
      // `ip rule add pref <this> lookup <table> proto <protocol>`, kept by the daemon; null: none
      'rule-priority': z.number().int().min(0).max(0xffffffff).nullable().default(5549),
      // neighbor: 169.254.0.1 placeholder + onlink (every kernel); via: RTA_VIA inet6 (>= 5.2)
      mode: z.enum(['neighbor', 'via']).default('neighbor'),
      // placeholder gateways, one per peer on an interface: .1 for the first, then .2, .3 ...
      'gateway-pool': z.string().default('169.254.0.0/24'),
      // routes by RTA_NH_ID: one nexthop object per (interface, peer), a group per ECMP set (>= 5.3)
      'nexthop-objects': z.boolean().default(false),
      'netlink-batch': z.number().int().min(1).max(10_000).default(2000),
      // receive buffer of the event socket (SO_RCVBUFFORCE); an overrun costs a full resync
      'event-buffer-bytes': z.number().int().min(65_536).max(1 << 30).default(64 << 20),
    })
    .prefault({}),
  interfaces: z.array(z.string().min(1).max(15)).max(MAX_INTERFACES, atMost(MAX_INTERFACES, 'interface names or globs')).default([]),
  sources: z
    .strictObject({
      jsonl: z
        .strictObject({
          enabled: z.boolean().default(true),
          socket: z.string().min(1).default('/run/rfc5549d/routes.sock'),
          'withdraw-on-disconnect': z.boolean().default(false),
          'max-line-bytes': z.number().int().min(256).max(16 << 20).default(65_536),
        })
        .prefault({}),
      fpm: z
        .strictObject({
          enabled: z.boolean().default(true),
          // host:port; zebra connects here. Loopback unless you mean it.
          listen: hostPort('127.0.0.1:2620').default('127.0.0.1:2620'),
          // zebra route protocols to take (names from rt_protos or numbers)
          protocols: z.array(z.union([z.string(), z.number().int().min(0).max(255)])).min(1).max(MAX_FPM_PROTOCOLS, atMost(MAX_FPM_PROTOCOLS, 'protocols')).default(['bgp']),
          'settle-time': seconds(3),
          // FPM withdrawals wait this long; zebra disconnecting meanwhile (FRR stopping, bgpd
          // first) cancels them. 0: applied at once
          'withdraw-hold': z.number().min(0).max(60).default(1),
          // a second zebra connection replaces the first instead of being refused
          'allow-replace': z.boolean().default(false),
        })
        .prefault({}),
      gobgp: z
        .strictObject({
          enabled: z.boolean().default(false),
          // host:port of gobgpd's gRPC API (gobgpd --api-hosts)
          address: hostPort('127.0.0.1:50051').default('127.0.0.1:50051'),
          // largest gRPC message taken from gobgpd (grpc max_receive_message_length)
          'max-message-bytes': z.number().int().min(65_536).max(256 << 20).default(4 << 20),
          // destinations one RIB list may hold (and changes queued while it runs)
          'max-paths': z.number().int().min(1).max(50_000_000).default(2_000_000),
          // reconnect backoff: 1 s doubling up to this
          'reconnect-max': seconds(30),
        })
        .prefault({}),
      kernel: z
        .strictObject({
          // tables another speaker writes (BIRD's `kernel table 100`) and nobody forwards from:
          // their IPv4 routes via an IPv6 link-local are installed in our form in kernel.table
          tables: z.array(z.union([z.number(), z.string()])).max(64).default([]),
        })
        .prefault({}),
    })
    .prefault({}),
  control: z
    .strictObject({
      // Unix socket for `rfc5549d status|routes|peers` (mode 0660)
      socket: z.string().min(1).default('/run/rfc5549d/control.sock'),
    })
    .prefault({}),
  ra: z
    .strictObject({
      // listen for router advertisements (raw ICMPv6, needs CAP_NET_RAW): peer MAC evidence
      enabled: z.boolean().default(true),
      // send a router solicitation when a managed link comes up, to learn the peer fast
      'solicit-on-link-up': z.boolean().default(true),
    })
    .prefault({}),
  graceful: z
    .strictObject({
      'stale-time': seconds(30),
      // on SIGTERM remove every owned route and placeholder instead of leaving them for the next start
      'withdraw-on-exit': z.boolean().default(false),
    })
    .prefault({}),
  limits: z
    .strictObject({
      // desired routes held at most; beyond it new prefixes are refused (installed ones stay)
      'max-routes': z.number().int().min(1).max(50_000_000).default(1_000_000),
      // next hops of one route at most; a longer route is refused. The kernel takes longer
      // ones but leaves them out of every dump (docs/configuration.md has the measurements).
      'max-legs': z.number().int().min(1).max(MAX_LEGS_CEILING).default(DEFAULT_MAX_LEGS),
    })
    .prefault({}),
  filters: z
    .strictObject({
      // what a route matching no rule gets
      default: z.enum(['accept', 'reject']).default('accept'),
      // first match wins; `prefix` alone matches exactly, ge/le widen it to a length range
      rules: z
        .array(
          z.strictObject({
            action: z.enum(['accept', 'reject']),
            prefix: z.string(),
            ge: z.number().int().min(0).max(32).optional(),
            le: z.number().int().min(0).max(32).optional(),
          }),
        )
        .max(MAX_FILTER_RULES, atMost(MAX_FILTER_RULES, 'rules'))
        .default([{ action: 'reject', prefix: '0.0.0.0/0' }]),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      // host:port for Prometheus text exposition at /metrics; null (the default) is off
      listen: hostPort('127.0.0.1:9342').nullable().default(null),
    })
    .prefault({}),
  reconcile: z
    .strictObject({
      'resync-interval': seconds(60),
    })
    .prefault({}),
});
