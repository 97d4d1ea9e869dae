// Prometheus text exposition (prom-client) on metrics.listen, GET /metrics. Gauges and
// counters are read from the daemon's own counters at scrape time, so the hot paths carry
// no metrics code; only the pass-duration histogram is fed as passes happen.
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { HostPort } from '../config/config.js';
import type { Daemon } from '../daemon.js';
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

function buildRegistry(d: Daemon): Registry {
  const r = new Registry();
  collectDefaultMetrics({ register: r, prefix: 'rfc5549d_' });
  const rc = d.reconciler;

  // pending counts what status counts: routes zebra names by a nexthop id it never sent are not
  // in the RIB (nothing may stay installed for them) but are pending all the same
  gauge(r, 'rfc5549d_routes', 'Desired routes by state: installed, or pending (peer unresolved, link down, conflict, nexthop id missing).', ['state'], () => [
    [{ state: 'installed' }, d.rib.size - rc.pendingCount],
    [{ state: 'pending' }, rc.pendingCount + (d.fpm?.status().pendingNexthopRoutes ?? 0)],
  ]);
  gauge(r, 'rfc5549d_routes_owned_in_kernel', 'Routes of our protocol in our tables, as the kernel holds them.', [], () => [[{}, rc.state.ownedRouteCount]]);
  gauge(r, 'rfc5549d_throw_routes', 'Throw routes in our table: main\'s routes more specific than one of ours, which still win for their addresses.', [], () => [[{}, rc.ownTable.throwCount]]);
  gauge(r, 'rfc5549d_rule_installed', '1 when our rule (kernel.rule-priority) is in the kernel, 0 when it is missing; absent when none is kept.', [], () =>
    (rc.ownTable.keepsRule ? [[{}, rc.ownTable.ruleInstalled ? 1 : 0]] : []));
  gauge(r, 'rfc5549d_route_limit', 'limits.max-routes.', [], () => [[{}, d.rib.policy.maxRoutes]]);
  mirroredCounter(r, 'rfc5549d_routes_refused_total', 'Routes refused by limits (max-routes, max-legs), by filters, or as invalid (reserved table, bad prefix).', ['reason'], () => [
    [{ reason: 'limit' }, d.rib.refusedTotal.LIMIT_EXCEEDED],
    [{ reason: 'filter' }, d.rib.refusedTotal.ROUTE_FILTERED],
    [{ reason: 'invalid' }, d.rib.refusedTotal.INPUT_INVALID],
  ]);
  gauge(r, 'rfc5549d_peers', 'Peers by the evidence their MAC rests on (unresolved: none yet).', ['evidence'], () => {
    const counts: Record<string, number> = { eui64: 0, ndp: 0, ra: 0, unresolved: 0 };
    for (const p of peerStatuses(d, Date.now())) counts[p.evidence ?? 'unresolved'] = (counts[p.evidence ?? 'unresolved'] ?? 0) + 1;
    return Object.entries(counts).map(([evidence, n]) => [{ evidence }, n]);
  });

  mirroredCounter(r, 'rfc5549d_reconcile_passes_total', 'Reconcile passes.', [], () => [[{}, rc.passes]]);
  const duration = new Histogram({
    name: 'rfc5549d_reconcile_pass_duration_seconds',
    help: 'Duration of reconcile passes (planning and kernel writes).',
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15],
    registers: [r],
  });
  rc.onPass = (s) => duration.observe(s.durationMs / 1000);
  mirroredCounter(r, 'rfc5549d_kernel_writes_total', 'Netlink writes the kernel acknowledged.', [], () => [[{}, rc.writes]]);
  mirroredCounter(r, 'rfc5549d_netlink_errors_total', 'Netlink trouble: writes the kernel refused, event-socket overruns (ENOBUFS).', ['kind'], () => [
    [{ kind: 'write-refused' }, rc.failedWrites],
    [{ kind: 'overrun' }, d.netlinkOverruns],
  ]);
  mirroredCounter(r, 'rfc5549d_repairs_total', 'Writes that undid someone else\'s change to what we own.', [], () => [[{}, rc.repairs]]);

  mirroredCounter(r, 'rfc5549d_source_messages_total', 'Messages from route sources (JSON lines, FPM netlink messages).', ['source'], () => {
    const out: Array<[Labels, number]> = [];
    if (d.jsonlSource) out.push([{ source: 'jsonl' }, d.jsonlSource.counters.lines]);
    if (d.fpm) out.push([{ source: 'fpm' }, d.fpm.totals.messages]);
    if (d.gobgp) out.push([{ source: 'gobgp' }, d.gobgp.messages]);
    if (d.kernelTables) out.push([{ source: 'kernel-table' }, d.kernelTables.status().events]);
    return out;
  });
  mirroredCounter(r, 'rfc5549d_source_rejects_total', 'Input from route sources that was rejected, by reason.', ['source', 'reason'], () => {
    const out: Array<[Labels, number]> = [];
    if (d.jsonlSource) {
      const c = d.jsonlSource.counters;
      // 'failed' lines (handling threw: a bug) are counted in 'line' too
      out.push([{ source: 'jsonl', reason: 'line' }, c.rejected], [{ source: 'jsonl', reason: 'failed' }, c.failed]);
    }
    if (d.fpm) {
      const st = d.fpm.status();
      out.push([{ source: 'fpm', reason: 'malformed' }, d.fpm.totals.malformed], [{ source: 'fpm', reason: 'bad-frame' }, st.badFrames],
        [{ source: 'fpm', reason: 'connection-refused' }, st.refused], [{ source: 'fpm', reason: 'route-refused' }, st.routesRefused],
        [{ source: 'fpm', reason: 'frame-stalled' }, st.stalledFrames]);
    }
    if (d.gobgp) {
      const st = d.gobgp.status();
      out.push([{ source: 'gobgp', reason: 'malformed' }, st.malformed], [{ source: 'gobgp', reason: 'route-refused' }, st.routesRefused]);
      // paths gobgpd has that we cannot install, by why (see gobgp-path.ts)
      for (const [reason, n] of Object.entries(st.unusable)) out.push([{ source: 'gobgp', reason }, n]);
    }
    return out;
  });
  gauge(r, 'rfc5549d_source_connected', 'Whether a connected source is connected: zebra over FPM, gobgpd over gRPC.', ['source'], () => {
    const out: Array<[Labels, number]> = [];
    if (d.fpm) out.push([{ source: 'fpm' }, d.fpm.status().connected ? 1 : 0]);
    if (d.gobgp) out.push([{ source: 'gobgp' }, d.gobgp.status().connected ? 1 : 0]);
    return out;
  });
  mirroredCounter(r, 'rfc5549d_source_replies_dropped_total', 'Error replies not sent to a JSON-lines client that did not read them.', ['source'], () =>
    d.jsonlSource ? [[{ source: 'jsonl' }, d.jsonlSource.counters.repliesDropped]] : []);
  gauge(r, 'rfc5549d_kernel_table_routes', 'Routes in sources.kernel.tables at the last dump: taken, or not and why.', ['verdict'], () => {
    if (!d.kernelTables) return [];
    const st = d.kernelTables.status();
    return [[{ verdict: 'taken' }, st.taken], [{ verdict: 'shadowed' }, st.shadowed], [{ verdict: 'refused' }, st.refused],
      ...Object.entries(st.ignored).map(([reason, n]): [Labels, number] => [{ verdict: reason }, n])];
  });
  mirroredCounter(r, 'rfc5549d_router_adverts_received_total', 'Router advertisements received, accepted as peer evidence or ignored.', ['result'], () => {
    const c = d.raListener?.counters;
    if (!c) return [];
    return [[{ result: 'accepted' }, c.accepted], [{ result: 'ignored' }, c.received - c.accepted]];
  });
  mirroredCounter(r, 'rfc5549d_config_reloads_total', 'SIGHUP reloads, applied or failed (the running config kept).', ['result'], () => [
    [{ result: 'applied' }, d.reloads.applied],
    [{ result: 'failed' }, d.reloads.failed],
  ]);
  return r;
}

export class MetricsServer {
  private server: Server | undefined;
  private readonly registry: Registry;

  constructor(private readonly listen: HostPort, daemon: Daemon, private readonly log: Logger) {
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
