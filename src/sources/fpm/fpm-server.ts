// The FPM server: zebra connects to us (`fpm address A port P`). Each connection is a new
// generation that replays zebra's whole FIB with no end marker, so the replay ends after
// `settle-time` of quiet. A closed connection (zebra died; it sends no deletes) keeps its
// routes for graceful.stale-time, like BGP graceful restart: a zebra that comes back
// replays at once, but only what its clients (bgpd) have re-sent so far, and bgpd needs
// seconds to reconnect or to re-converge. So after a restart, entries the new generation
// has not refreshed are withdrawn when graceful.stale-time (from the disconnect) is over
// and the replay has settled, whichever is later - never at settle alone.
//
// The single zebra slot (issue 12) is held only by a connection that speaks FPM: one that
// has sent no complete frame yet, or sits on half a frame, gives way to a new connection;
// half a frame that stalls past FRAME_STALL_MS closes the connection; TCP keepalive finds
// a peer that vanished without a FIN.
import { createServer, type Server, type Socket } from 'node:net';
import { Rfc5549Error } from '../../errors.js';
import { LogThrottle, type Logger } from '../../log.js';
import type { Rib } from '../../rib/rib.js';
import { systemClock, type Clock, type Timer } from '../../runtime/clock.js';
import { SyncSignal, type RouteSource, type SourceTotals } from '../route-source.js';
import { FpmConnection } from './fpm-connection.js';
import { feedingSession } from './fpm-rib-feed.js';
import type { FpmCounters, PendingNexthopRoute } from './fpm-session.js';
import { WithdrawHold } from './withdraw-hold.js';

const FPM_SOURCE = 'fpm';

/**
 * How long half a frame may wait for the rest before the connection is closed. zebra writes
 * whole frames (at most 64 KiB) into a local socket, so the rest follows in microseconds; 15 s
 * also covers TCP retransmits on a remote zebra, and bounds how long a stuck or hostile peer
 * holds a frame buffer.
 */
const FRAME_STALL_MS = 15_000;
/** A connection this long on half a frame no longer holds the slot against a new one. */
const STALLED_REPLACE_MS = 1000;

const isFpmSession = (s: string): boolean => s.startsWith(`${FPM_SOURCE}#`);

export interface FpmSourceOptions {
  readonly host: string;
  readonly port: number;
  readonly protocols: ReadonlySet<number>;
  readonly mainTable: number;
  readonly settleTimeMs: number;
  readonly staleTimeMs: number;
  readonly allowReplace: boolean;
  /** FPM withdrawals wait this long; a disconnect meanwhile drops them (withdraw-hold.ts) */
  readonly withdrawHoldMs: number;
  readonly ifname: (ifindex: number) => string | undefined;
  /** settle, stale and stall timers (a ManualClock in tests); the system clock otherwise */
  readonly clock?: Clock;
  /** tests shorten these; FRAME_STALL_MS and STALLED_REPLACE_MS otherwise */
  readonly frameStallMs?: number;
  readonly stalledReplaceMs?: number;
}

export interface FpmStatus {
  connected: boolean;
  generation: number;
  replaying: boolean;
  refused: number;
  badFrames: number;
  /** connections closed on half a frame that stalled past FRAME_STALL_MS */
  stalledFrames: number;
  /** routes refused by route validation, filters or limits */
  routesRefused: number;
  pendingNexthopRoutes: number;
  /** nexthop ids the current connection holds (capped per connection) */
  nexthopIds: number;
  /** withdrawals waiting out sources.fpm.withdraw-hold */
  heldWithdrawals: number;
  counters: FpmCounters | undefined;
}

export class FpmSource implements RouteSource<FpmStatus> {
  readonly name = FPM_SOURCE;
  private server: Server | undefined;
  /** the connection holding the single zebra slot */
  private active: FpmConnection | undefined;
  private generation = 0;
  private settleTimer: Timer | undefined;
  private staleTimer: Timer | undefined;
  private replaying = false;
  private refused = 0;
  private badFrames = 0;
  private stalledFrames = 0;
  private routesRefused = 0;
  /** across every generation, for metrics */
  private readonly totalCounts = { messages: 0, malformed: 0 };
  private readonly refusalLog = new LogThrottle();
  private readonly nexthopRefusalLog = new LogThrottle();
  /** every replay's end (the first one ends the source's initial sync) */
  private readonly sync = new SyncSignal();
  private readonly clock: Clock;
  private readonly hold: WithdrawHold;

  constructor(private readonly opts: FpmSourceOptions, private readonly rib: Rib, private readonly log: Logger) {
    this.clock = opts.clock ?? systemClock;
    this.hold = new WithdrawHold(opts.withdrawHoldMs, (t, p) => {
      const change = this.rib.withdraw(t, p);
      if (this.log.isLevelEnabled('debug')) this.log.debug({ event: 'fpmRoute', session: this.active?.session.session, table: t, prefix: p.key, change }, 'FPM route');
    }, this.clock);
  }

  stats(): FpmStatus {
    const session = this.active?.session;
    return {
      connected: this.active !== undefined,
      generation: this.generation,
      replaying: this.replaying,
      refused: this.refused,
      badFrames: this.badFrames,
      stalledFrames: this.stalledFrames,
      routesRefused: this.routesRefused,
      pendingNexthopRoutes: session?.pendingNexthopRoutes ?? 0,
      nexthopIds: session?.nexthopIds ?? 0,
      heldWithdrawals: this.hold.size,
      counters: session ? { ...session.counters, ignored: { ...session.counters.ignored } } : undefined,
    };
  }

  totals(): SourceTotals {
    return { ...this.totalCounts };
  }

  get synced(): boolean {
    return this.sync.synced;
  }

  onSynced(listener: () => void): () => void {
    return this.sync.listen(listener);
  }

  /** the session name of the current connection ("fpm#3"), if one is up */
  get session(): string | undefined {
    return this.active?.session.session;
  }

  /** routes of the current connection held back for a nexthop id, with the reason */
  pendingRoutes(): Iterable<PendingNexthopRoute> {
    return this.active?.session.pendingRoutes() ?? [];
  }

  /** the port listened on (differs from the configured one only when that is 0) */
  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  async start(): Promise<void> {
    const server = createServer((sock) => this.accept(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new Rfc5549Error('SOURCE_IO', `sources.fpm.listen: ${this.opts.host}:${this.opts.port}: ${err.message}`, { cause: err })));
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    server.on('error', (err) => this.log.error({ event: 'sourceError', err }, 'FPM listener error'));
    this.server = server;
    this.log.info({ event: 'sourceListening', listen: `${this.opts.host}:${this.opts.port}` }, 'FPM source listening');
  }

  stop(): void {
    this.settleTimer?.cancel();
    this.staleTimer?.cancel();
    this.hold.dropAll(); // our routes stay in the kernel over our own restart anyway
    const active = this.active;
    this.active = undefined;
    active?.detach(); // its close is ours, not zebra going away
    this.server?.close();
    this.server = undefined;
  }

  private accept(sock: Socket): void {
    const peer = `${sock.remoteAddress}:${sock.remotePort}`;
    const holder = this.active;
    const givesWay = holder && this.givesWay(holder);
    if (holder && !givesWay && !this.opts.allowReplace) {
      this.refused++;
      this.log.warn({ event: 'fpmConnectionRefused', peer }, 'a second FPM connection was refused: one zebra at a time (sources.fpm.allow-replace)');
      sock.destroy();
      return;
    }
    if (holder) {
      this.log.warn({ event: 'fpmConnectionReplaced', peer, why: givesWay ?? 'sources.fpm.allow-replace' }, 'a new FPM connection replaces the current one');
      holder.detach();
      this.active = undefined;
      this.dropHeldWithdrawals(this.generation);
      // one that never sent a frame held no routes: nothing to keep for graceful.stale-time
      if (holder.frames > 0) this.armStale();
    }
    const id = `${FPM_SOURCE}#${++this.generation}`;
    const session = feedingSession(id, { protocols: this.opts.protocols, mainTable: this.opts.mainTable, ifname: this.opts.ifname }, {
      rib: this.rib, hold: this.hold, log: this.log, withdrawHoldMs: this.opts.withdrawHoldMs,
      refusalLog: this.refusalLog, nexthopRefusalLog: this.nexthopRefusalLog, refused: () => this.routesRefused++,
    });
    const stallMs = this.opts.frameStallMs ?? FRAME_STALL_MS;
    const conn: FpmConnection = new FpmConnection(sock, session, this.clock, stallMs, {
      item: (item) => {
        this.totalCounts.messages++;
        if (item.kind === 'malformed') {
          this.totalCounts.malformed++;
          this.log.debug({ event: 'fpmMessageMalformed', session: id, error: item.error, bytes: item.bytes }, 'malformed netlink message in an FPM frame; skipped');
        }
        session.handle(item);
      },
      chunk: () => {
        if (this.replaying) this.armSettle();
      },
      badFrame: (err) => {
        this.badFrames++;
        this.log.error({ event: 'fpmFrameInvalid', session: id, error: err.message }, 'bad FPM frame; closing the connection');
      },
      stalled: (bufferedBytes) => {
        this.stalledFrames++;
        this.log.warn({ event: 'fpmFrameStalled', session: id, peer, bufferedBytes, stallMs }, 'half an FPM frame and nothing more for too long; closing the connection');
      },
      error: (err) => this.log.warn({ event: 'sourceError', session: id, err }, 'FPM connection error'),
      closed: () => this.closed(conn),
    });
    this.active = conn;
    this.rib.beginReplay(FPM_SOURCE);
    this.replaying = true;
    this.armSettle();
    this.log.info({ event: 'sourceConnected', session: id, peer }, 'zebra connected (FPM); replay begins');
  }

  /** zebra went away (it sends no deletes): its routes stay for graceful.stale-time. */
  private closed(conn: FpmConnection): void {
    if (this.active !== conn) return;
    this.active = undefined;
    this.settleTimer?.cancel();
    this.settleTimer = undefined;
    this.replaying = false;
    this.dropHeldWithdrawals(this.generation);
    this.log.warn({ event: 'sourceDisconnected', session: conn.session.session, staleTimeMs: this.opts.staleTimeMs }, 'zebra disconnected; its routes stay for graceful.stale-time');
    this.armStale();
  }

  /**
   * Why the connection holding the slot gives way to a new one, or undefined when it keeps
   * it. A restarted zebra must never be locked out by a connection that is not speaking FPM:
   * one that has sent no complete frame (zebra replays at once, so a silent one is no zebra,
   * or a zebra with nothing to say), or one stuck on half a frame.
   */
  private givesWay(c: FpmConnection): string | undefined {
    if (c.frames === 0 && c.partialSince === undefined) return 'the current connection has sent no frame';
    if (c.partialSince !== undefined && this.clock.now() - c.partialSince >= (this.opts.stalledReplaceMs ?? STALLED_REPLACE_MS)) {
      return 'the current connection is stuck on half a frame';
    }
    return undefined;
  }

  /** zebra went away within the hold of some withdrawals: FRR is stopping (bgpd first), not BGP withdrawing. */
  private dropHeldWithdrawals(generation: number): void {
    const oldestMs = this.hold.oldestAgeMs();
    const n = this.hold.dropAll();
    if (n > 0) this.log.info({ event: 'fpmWithdrawalsDropped', session: `${FPM_SOURCE}#${generation}`, dropped: n, oldestMs, holdMs: this.opts.withdrawHoldMs }, 'zebra disconnected within sources.fpm.withdraw-hold of these withdrawals: their routes are held with the rest of its generation');
  }

  /** Holds the routes of a generation that went away for graceful.stale-time. */
  private armStale(): void {
    this.staleTimer?.cancel();
    this.staleTimer = this.clock.setTimeout(() => {
      this.staleTimer = undefined;
      if (!this.active) {
        const n = this.rib.withdrawSessions(isFpmSession);
        this.log.warn({ event: 'fpmStaleWithdrawn', withdrawn: n }, 'zebra did not come back: its routes are withdrawn');
      } else if (!this.replaying) {
        this.sweepUnrefreshed();
      } // else: the sweep runs when the replay settles
    }, this.opts.staleTimeMs);
  }

  private sweepUnrefreshed(): void {
    const withdrawn = this.rib.endReplay(FPM_SOURCE, isFpmSession) ?? 0;
    this.log.info({ event: 'fpmStaleWithdrawn', session: this.session, withdrawn }, 'routes the new zebra generation did not re-send are withdrawn');
  }

  private armSettle(): void {
    this.settleTimer?.cancel();
    this.settleTimer = this.clock.setTimeout(() => {
      this.settleTimer = undefined;
      if (!this.active || !this.replaying) return;
      this.replaying = false;
      // While an earlier generation's routes are held (stale timer running), the sweep waits for it.
      const staleHeld = this.staleTimer !== undefined;
      const withdrawn = staleHeld ? 0 : (this.rib.endReplay(FPM_SOURCE, isFpmSession) ?? 0);
      this.log.info({
        event: 'replayEnd', session: this.session, withdrawn, staleHeld, counters: this.active.session.counters,
      }, 'FPM replay settled');
      this.sync.ended();
    }, this.opts.settleTimeMs);
  }
}
