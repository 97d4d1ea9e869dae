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
import { decodeFpmFrame } from './fpm-decode.js';
import { FpmFrameError, FpmFrameReader } from './fpm-framing.js';
import { FpmSession, type FpmCounters, type PendingNexthopRoute } from './fpm-session.js';
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
/** Idle time before the first TCP keepalive probe: a zebra host that died sends no FIN. */
const KEEPALIVE_IDLE_MS = 10_000;

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
  /** tests shorten these; FRAME_STALL_MS and STALLED_REPLACE_MS otherwise */
  readonly frameStallMs?: number;
  readonly stalledReplaceMs?: number;
}

/** The connection holding the slot, and whether it has shown it is a zebra. */
interface ActiveConnection {
  readonly sock: Socket;
  readonly session: FpmSession;
  /** complete frames received; 0: it has not spoken FPM yet */
  frames: number;
  /** when the bytes of an unfinished frame last grew; undefined: no partial frame */
  partialSince: number | undefined;
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

export class FpmSource {
  private server: Server | undefined;
  private active: ActiveConnection | undefined;
  private generation = 0;
  private settleTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private replaying = false;
  private refused = 0;
  private badFrames = 0;
  private stalledFrames = 0;
  private routesRefused = 0;
  /** across every generation, for metrics */
  readonly totals = { messages: 0, malformed: 0 };
  private readonly refusalLog = new LogThrottle();
  private readonly nexthopRefusalLog = new LogThrottle();
  /** called when a replay ends (the first one ends the source's initial sync) */
  onSynced: () => void = () => {};

  private readonly hold: WithdrawHold;

  constructor(private readonly opts: FpmSourceOptions, private readonly rib: Rib, private readonly log: Logger) {
    this.hold = new WithdrawHold(opts.withdrawHoldMs, (t, p) => {
      const change = this.rib.withdraw(t, p);
      if (this.log.isLevelEnabled('debug')) this.log.debug({ event: 'fpmRoute', session: this.active?.session.session, table: t, prefix: p.key, change }, 'FPM route');
    });
  }

  status(): FpmStatus {
    return {
      connected: this.active !== undefined,
      generation: this.generation,
      replaying: this.replaying,
      refused: this.refused,
      badFrames: this.badFrames,
      stalledFrames: this.stalledFrames,
      routesRefused: this.routesRefused,
      pendingNexthopRoutes: this.active?.session.pendingNexthopRoutes ?? 0,
      nexthopIds: this.active?.session.nexthopIds ?? 0,
      heldWithdrawals: this.hold.size,
      counters: this.active?.session.counters,
    };
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
    for (const t of [this.settleTimer, this.staleTimer]) if (t) clearTimeout(t);
    this.hold.dropAll(); // our routes stay in the kernel over our own restart anyway
    const active = this.active;
    this.active = undefined; // its close is ours, not zebra going away
    active?.sock.destroy();
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
      holder.sock.destroy();
      this.active = undefined;
      this.dropHeldWithdrawals(this.generation);
      // one that never sent a frame held no routes: nothing to keep for graceful.stale-time
      if (holder.frames > 0) this.armStale();
    }
    // zebra can sit idle for hours between route changes; a host that died sends no FIN
    sock.setKeepAlive(true, KEEPALIVE_IDLE_MS);
    const id = `${FPM_SOURCE}#${++this.generation}`;
    const session = new FpmSession(id, { protocols: this.opts.protocols, mainTable: this.opts.mainTable, ifname: this.opts.ifname }, {
      add: (s, r) => {
        this.hold.supersede(r.table, r.prefix);
        const change = this.rib.add(s, r);
        if (change === 'refused') {
          this.routesRefused++;
          const dropped = this.refusalLog.admit();
          if (dropped !== undefined) {
            const refusal = this.rib.lastRefusal!;
            this.log.warn({ event: 'fpmRouteRefused', session: s, code: refusal.code, error: refusal.message, ...(dropped > 0 ? { notLogged: dropped } : {}) }, 'route from zebra refused');
          }
        }
        if (this.log.isLevelEnabled('debug')) this.log.debug({ event: 'fpmRoute', session: s, table: r.table, prefix: r.prefix.key, change }, 'FPM route');
      },
      withdraw: (t, p, unusable) => {
        if (unusable) {
          // an add we cannot install: at once, and it overrides a held delete of the same route
          this.hold.supersede(t, p);
          this.rib.withdraw(t, p);
          return;
        }
        if (this.log.isLevelEnabled('debug')) this.log.debug({ event: 'fpmWithdrawHeld', session: id, table: t, prefix: p.key, holdMs: this.opts.withdrawHoldMs }, 'FPM withdrawal');
        this.hold.withdraw(t, p);
      },
    }, (episode) => {
      // once per episode, not per route: zebra without kernel nexthops names thousands of ids
      if (episode.state === 'begin') {
        this.log.warn({ event: 'fpmNexthopMissing', session: id, key: episode.key, nhId: episode.nhId, error: episode.reason },
          'routes from zebra name nexthop ids that cannot be resolved; they are pending (rfc5549d routes --pending)');
      } else {
        this.log.info({ event: 'fpmNexthopResolved', session: id, resolved: episode.resolved }, 'no route from zebra waits for a nexthop id any more');
      }
    }, (nhId, error) => {
      const dropped = this.nexthopRefusalLog.admit();
      if (dropped !== undefined) this.log.warn({ event: 'fpmNexthopRefused', session: id, nhId, error, ...(dropped > 0 ? { notLogged: dropped } : {}) }, 'nexthop object from zebra refused');
    });
    const current: ActiveConnection = { sock, session, frames: 0, partialSince: undefined };
    this.active = current;
    this.rib.beginReplay(FPM_SOURCE);
    this.replaying = true;
    this.armSettle();
    this.log.info({ event: 'sourceConnected', session: id, peer }, 'zebra connected (FPM); replay begins');

    const reader = new FpmFrameReader();
    const stallMs = this.opts.frameStallMs ?? FRAME_STALL_MS;
    let stallTimer: NodeJS.Timeout | undefined;
    const stalled = (): void => {
      stallTimer = undefined;
      if (this.active !== current || reader.buffered === 0) return;
      this.stalledFrames++;
      this.log.warn({ event: 'fpmFrameStalled', session: id, peer, bufferedBytes: reader.buffered, stallMs },
        'half an FPM frame and nothing more for too long; closing the connection');
      sock.destroy();
    };
    sock.on('data', (chunk: Buffer) => {
      if (this.active !== current) return;
      let frames: Buffer[];
      try {
        frames = reader.push(chunk);
      } catch (err) {
        // A bad header means the length can no longer be trusted: close this connection only.
        this.badFrames++;
        this.log.error({ event: 'fpmFrameInvalid', session: id, error: (err as FpmFrameError).message }, 'bad FPM frame; closing the connection');
        sock.destroy();
        return;
      }
      current.frames += frames.length;
      if (stallTimer) clearTimeout(stallTimer);
      stallTimer = undefined;
      current.partialSince = reader.buffered > 0 ? Date.now() : undefined;
      if (reader.buffered > 0) {
        stallTimer = setTimeout(stalled, stallMs);
        stallTimer.unref();
      }
      for (const frame of frames) {
        for (const item of decodeFpmFrame(frame)) {
          this.totals.messages++;
          if (item.kind === 'malformed') {
            this.totals.malformed++;
            this.log.debug({ event: 'fpmMessageMalformed', session: id, error: item.error, bytes: item.bytes }, 'malformed netlink message in an FPM frame; skipped');
          }
          session.handle(item);
        }
      }
      if (this.replaying) this.armSettle();
    });
    sock.on('error', (err) => this.log.warn({ event: 'sourceError', session: id, err }, 'FPM connection error'));
    sock.on('close', () => {
      if (stallTimer) clearTimeout(stallTimer);
      if (this.active !== current) return;
      this.active = undefined;
      if (this.settleTimer) clearTimeout(this.settleTimer);
      this.settleTimer = undefined;
      this.replaying = false;
      this.dropHeldWithdrawals(this.generation);
      this.log.warn({ event: 'sourceDisconnected', session: id, staleTimeMs: this.opts.staleTimeMs }, 'zebra disconnected; its routes stay for graceful.stale-time');
      this.armStale();
    });
  }

  /**
   * Why the connection holding the slot gives way to a new one, or undefined when it keeps
   * it. A restarted zebra must never be locked out by a connection that is not speaking FPM:
   * one that has sent no complete frame (zebra replays at once, so a silent one is no zebra,
   * or a zebra with nothing to say), or one stuck on half a frame.
   */
  private givesWay(c: ActiveConnection): string | undefined {
    if (c.frames === 0 && c.partialSince === undefined) return 'the current connection has sent no frame';
    if (c.partialSince !== undefined && Date.now() - c.partialSince >= (this.opts.stalledReplaceMs ?? STALLED_REPLACE_MS)) {
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
    if (this.staleTimer) clearTimeout(this.staleTimer);
    this.staleTimer = setTimeout(() => {
      this.staleTimer = undefined;
      if (!this.active) {
        const n = this.rib.withdrawSessions(isFpmSession);
        this.log.warn({ event: 'fpmStaleWithdrawn', withdrawn: n }, 'zebra did not come back: its routes are withdrawn');
      } else if (!this.replaying) {
        this.sweepUnrefreshed();
      } // else: the sweep runs when the replay settles
    }, this.opts.staleTimeMs);
    this.staleTimer.unref();
  }

  private sweepUnrefreshed(): void {
    const withdrawn = this.rib.endReplay(FPM_SOURCE, isFpmSession) ?? 0;
    this.log.info({ event: 'fpmStaleWithdrawn', session: this.active?.session.session, withdrawn }, 'routes the new zebra generation did not re-send are withdrawn');
  }

  private armSettle(): void {
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      if (!this.active || !this.replaying) return;
      this.replaying = false;
      // While an earlier generation's routes are held (stale timer running), the sweep waits for it.
      const staleHeld = this.staleTimer !== undefined;
      const withdrawn = staleHeld ? 0 : (this.rib.endReplay(FPM_SOURCE, isFpmSession) ?? 0);
      this.log.info({
        event: 'replayEnd', session: this.active.session.session, withdrawn, staleHeld, counters: this.active.session.counters,
      }, 'FPM replay settled');
      this.onSynced();
    }, this.opts.settleTimeMs);
    this.settleTimer.unref();
  }
}
