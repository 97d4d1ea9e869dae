// The GoBGP source: a gRPC client of gobgpd. Each connection is a generation ("gobgp#N"):
// watch peers and best paths first (gobgpd's END_OF_INIT peer event says the watcher is in
// place), then list the peers and the global IPv4 unicast RIB, then apply the changes that
// came in meanwhile, then follow the watch. A withdrawn path or a neighbour leaving
// ESTABLISHED withdraws. A lost connection keeps its routes for graceful.stale-time, like an
// FPM generation: a gobgpd that comes back lists at once, but only what its BGP sessions have
// re-learnt so far, so entries the new generation has not refreshed are withdrawn when
// stale-time (from the loss) is over and the new list is done, whichever is later.
import * as grpc from '@grpc/grpc-js';
import { LogThrottle, type Logger } from '../../log.js';
import type { Ipv4Prefix } from '../../model/ipv4-prefix.js';
import type { Rib } from '../../rib/rib.js';
import {
  decodeListPathResponse, decodeListPeerResponse, decodeWatchEventResponse, encodeListPathRequest, encodeListPeerRequest, encodeWatchEventRequest,
  GOBGP_SERVICE, GobgpDecodeError, type GobgpEvent,
} from './gobgp-api.js';
import { neighborKey, PeerIndex, translatePath, UNUSABLE_REASONS, type GobgpPath, type GobgpPeer, type UnusableReason } from './gobgp-path.js';

const GOBGP_SOURCE = 'gobgp';
const isGobgpSession = (s: string): boolean => s.startsWith(`${GOBGP_SOURCE}#`);
const RECONNECT_FIRST_MS = 1000;

export interface GobgpSourceOptions {
  /** host:port of gobgpd's gRPC API */
  readonly address: string;
  readonly table: number;
  readonly staleTimeMs: number;
  readonly maxMessageBytes: number;
  /** destinations one list may hold, and changes queued while it runs */
  readonly maxPaths: number;
  readonly reconnectMaxMs: number;
  /** how long gobgpd may take to confirm the watch (END_OF_INIT) before we retry; 30 s */
  readonly initTimeoutMs?: number;
}

export interface GobgpStatus {
  connected: boolean;
  phase: Phase;
  generation: number;
  address: string;
  peers: number;
  routes: number;
  reconnects: number;
  lastError: string | null;
  /** routes refused by filters or limits.max-routes */
  routesRefused: number;
  malformed: number;
  unusable: Record<UnusableReason, number>;
}

type Phase = 'connecting' | 'listing' | 'live' | 'disconnected' | 'stopped';

interface Connection {
  readonly client: grpc.Client;
  readonly session: string;
  readonly calls: grpc.ClientReadableStream<Buffer>[];
  /** watch events that came while listing, applied after it */
  readonly queued: GobgpEvent[];
  listStarted: boolean;
  initTimer: NodeJS.Timeout | undefined;
}

const raw = (b: Buffer): Buffer => b;

export class GobgpSource {
  private conn: Connection | undefined;
  private phase: Phase = 'disconnected';
  private generation = 0;
  private readonly peers = new PeerIndex();
  /** what we hold, by prefix: the neighbour it came from and the generation that last sent it */
  private readonly held = new Map<string, { prefix: Ipv4Prefix; neighbor: string; generation: number }>();
  private staleTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private synced = false;
  private reconnects = 0;
  private lastError: string | null = null;
  private routesRefused = 0;
  private malformed = 0;
  /** gRPC messages taken from gobgpd, across generations (metrics) */
  messages = 0;
  readonly unusable = Object.fromEntries(UNUSABLE_REASONS.map((r) => [r, 0])) as Record<UnusableReason, number>;
  private readonly warnLog = new LogThrottle();
  /** called when the first list is done (the source's initial sync) */
  onSynced: () => void = () => {};

  constructor(private readonly opts: GobgpSourceOptions, private readonly rib: Rib, private readonly log: Logger) {
    this.backoffMs = this.firstBackoffMs;
  }

  private get firstBackoffMs(): number {
    return Math.min(RECONNECT_FIRST_MS, this.opts.reconnectMaxMs);
  }

  /** Connects in the background: a gobgpd that is not up yet is retried with backoff. */
  start(): void {
    this.connect();
  }

  stop(): void {
    this.phase = 'stopped';
    for (const t of [this.staleTimer, this.reconnectTimer]) if (t) clearTimeout(t);
    this.closeConnection();
  }

  status(): GobgpStatus {
    return {
      connected: this.phase === 'live' || this.phase === 'listing',
      phase: this.phase,
      generation: this.generation,
      address: this.opts.address,
      peers: this.peers.size,
      routes: this.held.size,
      reconnects: this.reconnects,
      lastError: this.lastError,
      routesRefused: this.routesRefused,
      malformed: this.malformed,
      unusable: { ...this.unusable },
    };
  }

  private connect(): void {
    if (this.phase === 'stopped') return;
    this.reconnectTimer = undefined;
    const session = `${GOBGP_SOURCE}#${++this.generation}`;
    const client = new grpc.Client(this.opts.address, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': this.opts.maxMessageBytes,
      'grpc.max_send_message_length': 1 << 16,
      // a gobgpd that hangs (not killed) is noticed without waiting for TCP
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
    });
    const conn: Connection = { client, session, calls: [], queued: [], listStarted: false, initTimer: undefined };
    // a server that accepts the call but never confirms it (not gobgpd, or a wedged one)
    conn.initTimer = setTimeout(() => this.lost(conn, `WatchEvent: no END_OF_INIT peer event within ${this.opts.initTimeoutMs ?? 30_000} ms`), this.opts.initTimeoutMs ?? 30_000);
    conn.initTimer.unref();
    this.conn = conn;
    this.phase = 'connecting';
    const watch = client.makeServerStreamRequest(`${GOBGP_SERVICE}/WatchEvent`, raw, raw, encodeWatchEventRequest());
    conn.calls.push(watch);
    watch.on('data', (bytes: Buffer) => this.onWatchMessage(conn, bytes));
    watch.on('error', (err: grpc.ServiceError) => this.lost(conn, `WatchEvent: ${err.details || err.message}`));
    watch.on('end', () => this.lost(conn, 'WatchEvent: gobgpd ended the stream'));
  }

  private onWatchMessage(conn: Connection, bytes: Buffer): void {
    if (this.conn !== conn) return;
    this.messages++;
    const ev = this.decodeOrSkip(conn, 'WatchEvent', () => decodeWatchEventResponse(bytes));
    if (!ev) return;
    if (ev.kind === 'peer' && ev.type === 'end-of-init' && !conn.listStarted) {
      conn.listStarted = true;
      clearTimeout(conn.initTimer);
      void this.list(conn);
      return;
    }
    if (this.phase !== 'live') {
      if (conn.queued.length >= this.opts.maxPaths) {
        this.lost(conn, `more than ${this.opts.maxPaths} changes queued while listing (sources.gobgp.max-paths)`);
        return;
      }
      conn.queued.push(ev);
      return;
    }
    this.apply(conn, ev);
  }

  /** The peers, then the global RIB; then the changes that came meanwhile. */
  private async list(conn: Connection): Promise<void> {
    this.phase = 'listing';
    this.log.info({ event: 'sourceConnected', session: conn.session, address: this.opts.address }, 'connected to gobgpd; listing peers and the global RIB');
    try {
      const peers: GobgpPeer[] = [];
      await this.stream(conn, 'ListPeer', encodeListPeerRequest(), (b) => {
        if (peers.length >= this.opts.maxPaths) throw new Error(`more than ${this.opts.maxPaths} peers (sources.gobgp.max-paths)`);
        const p = this.decodeOrSkip(conn, 'ListPeer', () => decodeListPeerResponse(b));
        if (p) peers.push(p);
      });
      if (this.conn !== conn) return;
      this.peers.clear();
      for (const p of peers) this.peers.set(p);
      this.rib.beginReplay(GOBGP_SOURCE);
      let destinations = 0;
      let paths = 0;
      await this.stream(conn, 'ListPath', encodeListPathRequest(), (b) => {
        if (++destinations > this.opts.maxPaths) throw new Error(`more than ${this.opts.maxPaths} destinations in one list (sources.gobgp.max-paths)`);
        const d = this.decodeOrSkip(conn, 'ListPath', () => decodeListPathResponse(b));
        if (!d) return;
        const best = d.paths.find((p) => p.best);
        paths += d.paths.length;
        if (best) this.announce(conn, best);
      });
      if (this.conn !== conn) return;
      const queued = conn.queued.splice(0);
      for (const ev of queued) this.apply(conn, ev);
      this.phase = 'live';
      this.backoffMs = this.firstBackoffMs;
      // a lost generation's routes are held until stale-time from the loss; else sweep now
      const staleHeld = this.staleTimer !== undefined;
      const withdrawn = staleHeld ? 0 : this.sweepUnrefreshed();
      this.log.info({ event: 'replayEnd', session: conn.session, peers: peers.length, destinations, paths, queued: queued.length, routes: this.held.size, withdrawn, staleHeld }, 'gobgpd RIB listed');
      if (!this.synced) {
        this.synced = true;
        this.onSynced();
      }
    } catch (err) {
      if (this.conn === conn) this.lost(conn, (err as Error).message);
    }
  }

  /** Runs a server-streaming call to its end, handing each message to `each`. */
  private stream(conn: Connection, method: string, request: Buffer, each: (bytes: Buffer) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const call = conn.client.makeServerStreamRequest(`${GOBGP_SERVICE}/${method}`, raw, raw, request);
      conn.calls.push(call);
      let failed = false;
      call.on('data', (bytes: Buffer) => {
        if (failed) return;
        this.messages++;
        try {
          each(bytes);
        } catch (err) {
          failed = true;
          call.cancel();
          reject(new Error(`${method}: ${(err as Error).message}`));
        }
      });
      call.on('error', (err: grpc.ServiceError) => {
        if (!failed) reject(new Error(`${method}: ${err.details || err.message}`));
        failed = true;
      });
      call.on('end', () => {
        if (!failed) resolve();
      });
    });
  }

  private apply(conn: Connection, ev: GobgpEvent): void {
    if (ev.kind === 'table') {
      for (const p of ev.paths) {
        if (p.withdraw) this.withdrawPath(conn, p);
        else this.announce(conn, p);
      }
    } else if (ev.kind === 'peer' && (ev.type === 'state' || ev.type === 'init')) {
      // Only a session that goes down withdraws: a gobgpd that came back reports its peers
      // Idle, Active, OpenSent … while they reconnect, and the held routes must wait for them.
      const wasEstablished = this.peers.set(ev.peer);
      if (wasEstablished && !ev.peer.established) this.withdrawNeighbor(conn, ev.peer.address);
    }
  }

  private announce(conn: Connection, path: GobgpPath): void {
    const v = translatePath(path, this.peers, this.opts.table);
    if (!v.ok) {
      this.unusable[v.reason]++;
      if (this.log.isLevelEnabled('debug')) this.log.debug({ event: 'gobgpPathUnusable', session: conn.session, reason: v.reason, detail: v.detail }, 'GoBGP path not usable');
      // a best path we cannot use replaces one we could: ours must go
      if (v.prefix && v.reason !== 'not-ipv4-unicast') this.withdrawPrefix(conn, v.prefix);
      return;
    }
    const change = this.rib.add(conn.session, v.route);
    if (change === 'refused') {
      this.routesRefused++;
      this.held.delete(v.prefix.key);
      const refusal = this.rib.lastRefusal;
      this.warn({ event: 'gobgpRouteRefused', session: conn.session, prefix: v.prefix.key, code: refusal?.code, error: refusal?.message }, 'route from gobgpd refused');
      return;
    }
    this.held.set(v.prefix.key, { prefix: v.prefix, neighbor: v.neighbor, generation: this.generation });
    if (this.log.isLevelEnabled('debug')) this.log.debug({ event: 'gobgpRoute', session: conn.session, prefix: v.prefix.key, change }, 'GoBGP route');
  }

  private withdrawPath(conn: Connection, path: GobgpPath): void {
    if (path.afi !== 1 || path.safi !== 1 || path.prefix === undefined) return;
    const h = this.held.get(path.prefix);
    if (h) this.withdrawPrefix(conn, h.prefix);
  }

  private withdrawPrefix(conn: Connection, prefix: Ipv4Prefix): void {
    if (!this.held.delete(prefix.key)) return;
    const change = this.rib.withdraw(this.opts.table, prefix);
    if (this.log.isLevelEnabled('debug')) this.log.debug({ event: 'gobgpRoute', session: conn.session, prefix: prefix.key, change }, 'GoBGP route');
  }

  /** A neighbour that left ESTABLISHED: gobgpd drops its paths too, but we do not wait for that. */
  private withdrawNeighbor(conn: Connection, address: string): void {
    const key = neighborKey(address);
    let n = 0;
    for (const h of [...this.held.values()]) {
      if (h.neighbor !== key) continue;
      this.withdrawPrefix(conn, h.prefix);
      n++;
    }
    if (n > 0) this.log.info({ event: 'gobgpNeighborDown', session: conn.session, neighbor: key, withdrawn: n }, 'a gobgpd neighbour left ESTABLISHED; its routes are withdrawn');
  }

  private lost(conn: Connection, why: string): void {
    if (this.conn !== conn || this.phase === 'stopped') return;
    const wasUp = this.phase === 'live' || this.phase === 'listing';
    this.closeConnection();
    this.phase = 'disconnected';
    this.lastError = why;
    this.reconnects++;
    if (wasUp || this.held.size > 0) {
      this.log.warn({ event: 'sourceDisconnected', session: conn.session, error: why, staleTimeMs: this.opts.staleTimeMs, routes: this.held.size }, 'lost gobgpd; its routes stay for graceful.stale-time');
      this.armStale();
    } else {
      this.warn({ event: 'gobgpConnectFailed', session: conn.session, error: why, retryMs: this.backoffMs }, 'cannot reach gobgpd; retrying');
    }
    this.reconnectTimer = setTimeout(() => this.connect(), this.backoffMs);
    this.reconnectTimer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.reconnectMaxMs);
  }

  private closeConnection(): void {
    const c = this.conn;
    this.conn = undefined;
    if (!c) return;
    clearTimeout(c.initTimer);
    for (const call of c.calls) call.cancel();
    c.client.close();
  }

  /** Holds the routes of a lost generation for graceful.stale-time (armed once per loss). */
  private armStale(): void {
    if (this.staleTimer) return;
    this.staleTimer = setTimeout(() => {
      this.staleTimer = undefined;
      if (this.phase === 'live') {
        const withdrawn = this.sweepUnrefreshed();
        this.log.info({ event: 'gobgpStaleWithdrawn', session: this.conn?.session, withdrawn }, 'routes the new gobgpd generation did not re-send are withdrawn');
      } else if (this.phase !== 'listing') {
        // not back: nothing of the lost generation can be refreshed in time
        const withdrawn = this.rib.withdrawSessions(isGobgpSession);
        this.held.clear();
        this.log.warn({ event: 'gobgpStaleWithdrawn', withdrawn }, 'gobgpd did not come back within graceful.stale-time: its routes are withdrawn');
      } // else: the sweep runs when the list is done
    }, this.opts.staleTimeMs);
    this.staleTimer.unref();
  }

  /** Withdraws what earlier generations sent and this one has not re-sent. */
  private sweepUnrefreshed(): number {
    const n = this.rib.endReplay(GOBGP_SOURCE, isGobgpSession) ?? 0;
    for (const [k, h] of this.held) if (h.generation < this.generation) this.held.delete(k);
    return n;
  }

  /** A message that does not decode is counted, logged (rate-limited) and skipped; the stream goes on. */
  private decodeOrSkip<T>(conn: Connection, method: string, decode: () => T): T | undefined {
    try {
      return decode();
    } catch (err) {
      if (!(err instanceof GobgpDecodeError)) throw err;
      this.malformed++;
      this.warn({ event: 'gobgpMessageMalformed', session: conn.session, method, error: err.message }, 'a message from gobgpd does not decode; skipped');
      return undefined;
    }
  }

  private warn(fields: Record<string, unknown>, msg: string): void {
    const dropped = this.warnLog.admit();
    if (dropped !== undefined) this.log.warn(dropped > 0 ? { ...fields, notLogged: dropped } : fields, msg);
  }
}
