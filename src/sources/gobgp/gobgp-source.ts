// The GoBGP source: a gRPC client of gobgpd. Each connection is a generation ("gobgp#N"):
// watch peers and best paths first (gobgpd's END_OF_INIT peer event says the watcher is in
// place), then list the peers and the global IPv4 unicast RIB, then apply the changes that
// came in meanwhile, then follow the watch. A withdrawn path or a neighbour leaving
// ESTABLISHED withdraws. A lost connection keeps its routes for graceful.stale-time, like an
// FPM generation: a gobgpd that comes back lists at once, but only what its BGP sessions have
// re-learnt so far, so entries the new generation has not refreshed are withdrawn when
// stale-time (from the loss) is over and the new list is done, whichever is later.
import type * as grpc from '@grpc/grpc-js';
import { LogThrottle, type Logger } from '../../log.js';
import type { Rib } from '../../rib/rib.js';
import { systemClock, type Clock, type Timer } from '../../runtime/clock.js';
import { SyncSignal, type RouteSource, type SourceTotals } from '../route-source.js';
import type * as GobgpApi from './gobgp-api.js';
import type { GobgpEvent } from './gobgp-api.js';
import type * as GobgpGrpc from './gobgp-grpc.js';
import type { GobgpConnection as Connection } from './gobgp-grpc.js';
import { PeerIndex, type GobgpPeer, type UnusableReason } from './gobgp-path.js';
import { GobgpRoutes } from './gobgp-routes.js';

const GOBGP_SOURCE = 'gobgp';
const isGobgpSession = (s: string): boolean => s.startsWith(`${GOBGP_SOURCE}#`);
const RECONNECT_FIRST_MS = 1000;

type Wire = typeof GobgpApi & typeof GobgpGrpc;

/**
 * gRPC and protobuf, loaded when the source starts: at startup they cost the daemon 18 MB
 * of RSS (4 MB of heap, the rest code), which a daemon without GoBGP should not carry.
 */
async function loadWire(): Promise<Wire> {
  const [api, rpc] = await Promise.all([import('./gobgp-api.js'), import('./gobgp-grpc.js')]);
  return { ...api, ...rpc };
}

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
  /** reconnect, stale and init timers (a ManualClock in tests); the system clock otherwise */
  readonly clock?: Clock;
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

export class GobgpSource implements RouteSource<GobgpStatus> {
  readonly name = GOBGP_SOURCE;
  private conn: Connection | undefined;
  private phase: Phase = 'disconnected';
  private generation = 0;
  private readonly peers = new PeerIndex();
  private readonly routes: GobgpRoutes;
  private staleTimer: Timer | undefined;
  private reconnectTimer: Timer | undefined;
  private backoffMs: number;
  private reconnects = 0;
  private lastError: string | null = null;
  private malformed = 0;
  /** gRPC messages taken from gobgpd, across generations (metrics) */
  private messages = 0;
  private readonly warnLog = new LogThrottle();
  /** ends once, when the first list is done (the source's initial sync) */
  private readonly sync = new SyncSignal();
  private readonly clock: Clock;

  constructor(private readonly opts: GobgpSourceOptions, private readonly rib: Rib, private readonly log: Logger) {
    this.clock = opts.clock ?? systemClock;
    this.backoffMs = this.firstBackoffMs;
    this.routes = new GobgpRoutes(rib, opts.table, log, this.warnLog);
  }

  get synced(): boolean {
    return this.sync.synced;
  }

  onSynced(listener: () => void): () => void {
    return this.sync.listen(listener);
  }

  totals(): SourceTotals {
    return { messages: this.messages, malformed: this.malformed };
  }

  private get firstBackoffMs(): number {
    return Math.min(RECONNECT_FIRST_MS, this.opts.reconnectMaxMs);
  }

  /** Connects in the background: a gobgpd that is not up yet is retried with backoff. */
  async start(): Promise<void> {
    this.wireLoaded ??= await loadWire();
    this.connect();
  }

  private wireLoaded: Wire | undefined;

  private get wire(): Wire {
    if (!this.wireLoaded) throw new Error('gobgp source: used before start()');
    return this.wireLoaded;
  }

  stop(): void {
    this.phase = 'stopped';
    this.staleTimer?.cancel();
    this.reconnectTimer?.cancel();
    this.closeConnection();
  }

  stats(): GobgpStatus {
    return {
      connected: this.phase === 'live' || this.phase === 'listing',
      phase: this.phase,
      generation: this.generation,
      address: this.opts.address,
      peers: this.peers.size,
      routes: this.routes.size,
      reconnects: this.reconnects,
      lastError: this.lastError,
      routesRefused: this.routes.routesRefused,
      malformed: this.malformed,
      unusable: { ...this.routes.unusable },
    };
  }

  private connect(): void {
    if (this.phase === 'stopped') return;
    this.reconnectTimer = undefined;
    const session = `${GOBGP_SOURCE}#${++this.generation}`;
    const client = this.wire.gobgpClient(this.opts.address, this.opts.maxMessageBytes);
    const conn: Connection = { client, session, calls: [], queued: [], listStarted: false, initTimer: undefined };
    // a server that accepts the call but never confirms it (not gobgpd, or a wedged one)
    const initMs = this.opts.initTimeoutMs ?? 30_000;
    conn.initTimer = this.clock.setTimeout(() => this.lost(conn, `WatchEvent: no END_OF_INIT peer event within ${initMs} ms`), initMs);
    this.conn = conn;
    this.phase = 'connecting';
    const watch = this.wire.openStream(client, 'WatchEvent', this.wire.encodeWatchEventRequest());
    conn.calls.push(watch);
    watch.on('data', (bytes: Buffer) => this.onWatchMessage(conn, bytes));
    watch.on('error', (err: grpc.ServiceError) => this.lost(conn, `WatchEvent: ${err.details || err.message}`));
    watch.on('end', () => this.lost(conn, 'WatchEvent: gobgpd ended the stream'));
  }

  private onWatchMessage(conn: Connection, bytes: Buffer): void {
    if (this.conn !== conn) return;
    this.messages++;
    const ev = this.decodeOrSkip(conn, 'WatchEvent', () => this.wire.decodeWatchEventResponse(bytes));
    if (!ev) return;
    if (ev.kind === 'peer' && ev.type === 'end-of-init' && !conn.listStarted) {
      conn.listStarted = true;
      conn.initTimer?.cancel();
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
      await this.stream(conn, 'ListPeer', this.wire.encodeListPeerRequest(), (b) => {
        if (peers.length >= this.opts.maxPaths) throw new Error(`more than ${this.opts.maxPaths} peers (sources.gobgp.max-paths)`);
        const p = this.decodeOrSkip(conn, 'ListPeer', () => this.wire.decodeListPeerResponse(b));
        if (p) peers.push(p);
      });
      if (this.conn !== conn) return;
      this.peers.clear();
      for (const p of peers) this.peers.set(p);
      this.rib.beginReplay(GOBGP_SOURCE);
      let destinations = 0;
      let paths = 0;
      await this.stream(conn, 'ListPath', this.wire.encodeListPathRequest(), (b) => {
        if (++destinations > this.opts.maxPaths) throw new Error(`more than ${this.opts.maxPaths} destinations in one list (sources.gobgp.max-paths)`);
        const d = this.decodeOrSkip(conn, 'ListPath', () => this.wire.decodeListPathResponse(b));
        if (!d) return;
        const best = d.paths.find((p) => p.best);
        paths += d.paths.length;
        if (best) this.routes.announce(conn.session, this.generation, best, this.peers);
      });
      if (this.conn !== conn) return;
      const queued = conn.queued.splice(0);
      for (const ev of queued) this.apply(conn, ev);
      this.phase = 'live';
      this.backoffMs = this.firstBackoffMs;
      // a lost generation's routes are held until stale-time from the loss; else sweep now
      const staleHeld = this.staleTimer !== undefined;
      const withdrawn = staleHeld ? 0 : this.sweepUnrefreshed();
      this.log.info({ event: 'replayEnd', session: conn.session, peers: peers.length, destinations, paths, queued: queued.length, routes: this.routes.size, withdrawn, staleHeld }, 'gobgpd RIB listed');
      if (!this.sync.synced) this.sync.ended();
    } catch (err) {
      if (this.conn === conn) this.lost(conn, (err as Error).message);
    }
  }

  /** Runs a server-streaming call to its end, counting its messages. */
  private stream(conn: Connection, method: string, request: Buffer, each: (bytes: Buffer) => void): Promise<void> {
    return this.wire.streamToEnd(conn.client, conn.calls, method, request, (bytes) => {
      this.messages++;
      each(bytes);
    });
  }

  private apply(conn: Connection, ev: GobgpEvent): void {
    if (ev.kind === 'table') {
      for (const p of ev.paths) {
        if (p.withdraw) this.routes.withdrawPath(conn.session, p);
        else this.routes.announce(conn.session, this.generation, p, this.peers);
      }
    } else if (ev.kind === 'peer' && (ev.type === 'state' || ev.type === 'init')) {
      // Only a session that goes down withdraws: a gobgpd that came back reports its peers
      // Idle, Active, OpenSent … while they reconnect, and the held routes must wait for them.
      const wasEstablished = this.peers.set(ev.peer);
      if (wasEstablished && !ev.peer.established) this.routes.withdrawNeighbor(conn.session, ev.peer.address);
    }
  }

  private lost(conn: Connection, why: string): void {
    if (this.conn !== conn || this.phase === 'stopped') return;
    const wasUp = this.phase === 'live' || this.phase === 'listing';
    this.closeConnection();
    this.phase = 'disconnected';
    this.lastError = why;
    this.reconnects++;
    if (wasUp || this.routes.size > 0) {
      this.log.warn({ event: 'sourceDisconnected', session: conn.session, error: why, staleTimeMs: this.opts.staleTimeMs, routes: this.routes.size }, 'lost gobgpd; its routes stay for graceful.stale-time');
      this.armStale();
    } else {
      this.warn({ event: 'gobgpConnectFailed', session: conn.session, error: why, retryMs: this.backoffMs }, 'cannot reach gobgpd; retrying');
    }
    this.reconnectTimer = this.clock.setTimeout(() => this.connect(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.reconnectMaxMs);
  }

  private closeConnection(): void {
    const c = this.conn;
    this.conn = undefined;
    if (c) this.wire.closeCalls(c);
  }

  /** Holds the routes of a lost generation for graceful.stale-time (armed once per loss). */
  private armStale(): void {
    if (this.staleTimer) return;
    this.staleTimer = this.clock.setTimeout(() => {
      this.staleTimer = undefined;
      if (this.phase === 'live') {
        const withdrawn = this.sweepUnrefreshed();
        this.log.info({ event: 'gobgpStaleWithdrawn', session: this.conn?.session, withdrawn }, 'routes the new gobgpd generation did not re-send are withdrawn');
      } else if (this.phase !== 'listing') {
        // not back: nothing of the lost generation can be refreshed in time
        const withdrawn = this.rib.withdrawSessions(isGobgpSession);
        this.routes.clear();
        this.log.warn({ event: 'gobgpStaleWithdrawn', withdrawn }, 'gobgpd did not come back within graceful.stale-time: its routes are withdrawn');
      } // else: the sweep runs when the list is done
    }, this.opts.staleTimeMs);
  }

  /** Withdraws what earlier generations sent and this one has not re-sent. */
  private sweepUnrefreshed(): number {
    const n = this.rib.endReplay(GOBGP_SOURCE, isGobgpSession) ?? 0;
    this.routes.forgetOlderThan(this.generation);
    return n;
  }

  /** A message that does not decode is counted, logged (rate-limited) and skipped; the stream goes on. */
  private decodeOrSkip<T>(conn: Connection, method: string, decode: () => T): T | undefined {
    try {
      return decode();
    } catch (err) {
      if (!(err instanceof this.wire.GobgpDecodeError)) throw err;
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
