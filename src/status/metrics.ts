// Prometheus text exposition (prom-client) on metrics.listen, GET /metrics. Gauges and
// counters are read from the daemon's own counters at scrape time, so the hot paths carry
// no metrics code; only the pass-duration histogram is fed as passes happen.
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HostPort } from '../config/config.js';
import type { PassStats } from '../reconcile/pass.js';
import type { DaemonStats } from './daemon-stats.js';
import type { ListingView } from './daemon-view.js';
import { Rfc5549Error } from '../errors.js';
import type { Logger } from '../log.js';
import { peerStatuses } from './snapshot.js';

type Labels = Record<string, string>;

/** A counter whose value is the daemon's own count, read at scrape time. */
function mirroredCounter(registry: Registry, name: string, help: string, labelNames: string[], read: () => Array<[Labels, number]>): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of read()) this.inc(labels, v);
    },
  });
}

function gauge(registry: Registry, name: string, help: string, labelNames: string[], read: () => Array<[Labels, number]>): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, v] of read()) this.set(labels, v);
    },
  });
}

/** What the metrics read: the daemon's combined stats, the peer listing, and each pass. */
export interface MetricsSource {
  status(): DaemonStats;
  readonly listings: ListingView;
  onPass(observer: (stats: PassStats) => void): () => void;
}

function buildRegistry(d: MetricsSource): Registry {
  const r = new Registry();
  collectDefaultMetrics({ register: r, prefix: 'rfc5549d_' });
  // a fresh copy per metric: cheap (counters and the link list), and never stale
  const st = (): DaemonStats => d.status();

  // pending counts what status counts: routes zebra names by a nexthop id it never sent are not
  // in the RIB (nothing may stay installed for them) but are pending all the same
  gauge(r, 'rfc5549d_routes', 'Desired routes by state: installed, or pending (peer unresolved, link down, conflict, nexthop id missing).', ['state'], () => {
    const s = st();
    return [
      [{ state: 'installed' }, s.rib.desired - s.reconciler.pending],
      [{ state: 'pending' }, s.reconciler.pending + (s.sources.fpm?.stats.pendingNexthopRoutes ?? 0)],
    ];
  });
  gauge(r, 'rfc5549d_routes_owned_in_kernel', 'Routes of our protocol in our tables, as the kernel holds them.', [], () => [[{}, st().reconciler.ownedRoutes]]);
  gauge(r, 'rfc5549d_throw_routes', 'Throw routes in our table: main\'s routes more specific than one of ours, which still win for their addresses.', [], () => [[{}, st().table.throwRoutes]]);
  gauge(r, 'rfc5549d_rule_installed', '1 when our rule (kernel.rule-priority) is in the kernel, 0 when it is missing; absent when none is kept.', [], () => {
    const t = st().table;
    return t.keepsRule ? [[{}, t.ruleInstalled ? 1 : 0]] : [];
  });
  gauge(r, 'rfc5549d_route_limit', 'limits.max-routes.', [], () => [[{}, st().rib.maxRoutes]]);
  mirroredCounter(r, 'rfc5549d_routes_refused_total', 'Routes refused by limits (max-routes, max-legs), by filters, or as invalid (reserved table, bad prefix).', ['reason'], () => {
    const refused = st().rib.refused;
    return [
      [{ reason: 'limit' }, refused.LIMIT_EXCEEDED],
      [{ reason: 'filter' }, refused.ROUTE_FILTERED],
      [{ reason: 'invalid' }, refused.INPUT_INVALID],
    ];
  });
  gauge(r, 'rfc5549d_peers', 'Peers by the evidence their MAC rests on (unresolved: none yet).', ['evidence'], () => {
    const counts: Record<string, number> = { eui64: 0, ndp: 0, ra: 0, unresolved: 0 };
    for (const p of peerStatuses(d.listings, st().nowMs)) counts[p.evidence ?? 'unresolved'] = (counts[p.evidence ?? 'unresolved'] ?? 0) + 1;
    return Object.entries(counts).map(([evidence, n]) => [{ evidence }, n]);
  });

  mirroredCounter(r, 'rfc5549d_reconcile_passes_total', 'Reconcile passes.', [], () => [[{}, st().reconciler.passes]]);
  const duration = new Histogram({
    name: 'rfc5549d_reconcile_pass_duration_seconds',
    help: 'Duration of reconcile passes (planning and kernel writes).',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15],
    registers: [r],
  });
  d.onPass((s) => duration.observe(s.durationMs / 1000));
  mirroredCounter(r, 'rfc5549d_kernel_writes_total', 'Netlink writes the kernel acknowledged.', [], () => [[{}, st().reconciler.writes]]);
  mirroredCounter(r, 'rfc5549d_netlink_errors_total', 'Netlink trouble: writes the kernel refused, event-socket overruns (ENOBUFS).', ['kind'], () => [
    [{ kind: 'write-refused' }, st().reconciler.failedWrites],
    [{ kind: 'overrun' }, st().netlinkOverruns],
  ]);
  mirroredCounter(r, 'rfc5549d_repairs_total', 'Writes that undid someone else\'s change to what we own.', [], () => [[{}, st().reconciler.repairs]]);

  mirroredCounter(r, 'rfc5549d_source_messages_total', 'Messages from route sources (JSON lines, FPM netlink messages).', ['source'], () => {
    const { jsonl, fpm, gobgp, kernelTable } = st().sources;
    const out: Array<[Labels, number]> = [];
    if (jsonl) out.push([{ source: 'jsonl' }, jsonl.totals.messages]);
    if (fpm) out.push([{ source: 'fpm' }, fpm.totals.messages]);
    if (gobgp) out.push([{ source: 'gobgp' }, gobgp.totals.messages]);
    if (kernelTable) out.push([{ source: 'kernel-table' }, kernelTable.totals.messages]);
    return out;
  });
  mirroredCounter(r, 'rfc5549d_source_rejects_total', 'Input from route sources that was rejected, by reason.', ['source', 'reason'], () => {
    const { jsonl, fpm, gobgp } = st().sources;
    const out: Array<[Labels, number]> = [];
    if (jsonl) {
      // 'failed' lines (handling threw: a bug) are counted in 'line' too
      out.push([{ source: 'jsonl', reason: 'line' }, jsonl.stats.rejected], [{ source: 'jsonl', reason: 'failed' }, jsonl.stats.failed]);
    }
    if (fpm) {
      const f = fpm.stats;
      out.push([{ source: 'fpm', reason: 'malformed' }, fpm.totals.malformed], [{ source: 'fpm', reason: 'bad-frame' }, f.badFrames],
        [{ source: 'fpm', reason: 'connection-refused' }, f.refused], [{ source: 'fpm', reason: 'route-refused' }, f.routesRefused],
        [{ source: 'fpm', reason: 'frame-stalled' }, f.stalledFrames]);
    }
    if (gobgp) {
      const g = gobgp.stats;
      out.push([{ source: 'gobgp', reason: 'malformed' }, g.malformed], [{ source: 'gobgp', reason: 'route-refused' }, g.routesRefused]);
      // paths gobgpd has that we cannot install, by why (see gobgp-path.ts)
      for (const [reason, n] of Object.entries(g.unusable)) out.push([{ source: 'gobgp', reason }, n]);
    }
    return out;
  });
  gauge(r, 'rfc5549d_source_connected', 'Whether a connected source is connected: zebra over FPM, gobgpd over gRPC.', ['source'], () => {
    const { fpm, gobgp } = st().sources;
    const out: Array<[Labels, number]> = [];
    if (fpm) out.push([{ source: 'fpm' }, fpm.stats.connected ? 1 : 0]);
    if (gobgp) out.push([{ source: 'gobgp' }, gobgp.stats.connected ? 1 : 0]);
    return out;
  });
  mirroredCounter(r, 'rfc5549d_source_replies_dropped_total', 'Error replies not sent to a JSON-lines client that did not read them.', ['source'], () => {
    const jsonl = st().sources.jsonl;
    return jsonl ? [[{ source: 'jsonl' }, jsonl.stats.repliesDropped]] : [];
  });
  gauge(r, 'rfc5549d_kernel_table_routes', 'Routes in sources.kernel.tables at the last dump: taken, or not and why.', ['verdict'], () => {
    const k = st().sources.kernelTable?.stats;
    if (!k) return [];
    return [[{ verdict: 'taken' }, k.taken], [{ verdict: 'shadowed' }, k.shadowed], [{ verdict: 'refused' }, k.refused],
      ...Object.entries(k.ignored).map(([reason, n]): [Labels, number] => [{ verdict: reason }, n])];
  });
  mirroredCounter(r, 'rfc5549d_router_adverts_received_total', 'Router advertisements received, accepted as peer evidence or ignored.', ['result'], () => {
    const c = st().ra;
    if (!c) return [];
    return [[{ result: 'accepted' }, c.accepted], [{ result: 'ignored' }, c.received - c.accepted]];
  });
  mirroredCounter(r, 'rfc5549d_config_reloads_total', 'SIGHUP reloads, applied or failed (the running config kept).', ['result'], () => [
    [{ result: 'applied' }, st().reloads.applied],
    [{ result: 'failed' }, st().reloads.failed],
  ]);
  return r;
}

export class MetricsServer {
  private server: Server | undefined;
  private readonly registry: Registry;

  constructor(private readonly listen: HostPort, daemon: MetricsSource, private readonly log: Logger) {
    this.registry = buildRegistry(daemon);
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (err: unknown) => {
          this.log.warn({ event: 'metricsFailed', err }, 'metrics collection failed');
          res.writeHead(500).end();
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Rfc5549Error('SOURCE_IO', `metrics.listen: ${this.listen.host}:${this.listen.port}: ${err.message}`, { cause: err })));
      server.listen(this.listen.port, this.listen.host, () => resolve());
    });
    this.server = server;
    this.log.info({ event: 'metricsListening', listen: `${this.listen.host}:${this.listen.port}` }, 'metrics listening');
  }

  stop(): void {
    this.server?.close();
    this.server = undefined;
  }
}
