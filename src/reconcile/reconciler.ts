// The only writer to the kernel. Level-triggered: events and source updates only mark
// keys dirty; each pass plans from the full desired and observed state of those keys
// (or of everything, after a dump). One pass runs at a time; bursts coalesce.
import type { Config } from '../config/config.js';
import { isLinkUp, isPermanent, isPlaceholder, KernelState } from '../kernel/kernel-state.js';
import type { KernelPort } from '../kernel/kernel.js';
import type { KernelRoute } from '../kernel/rtnetlink-codec.js';
import type { Logger } from '../log.js';
import { peerKey, type PeerTable } from '../peers/peer-table.js';
import type { Rib } from '../rib/rib.js';
import type { KernelOp, OpResult } from './kernel-ops.js';
import { planNeighbours, planRoutes, type RouteVerdict } from './plan.js';
import { RepairBackoff } from './repair-backoff.js';
import { Resolver, type PendingCode } from './resolver.js';

const EEXIST = 17;
/** Above this many route writes, our own route events would only flood the event socket. */
const QUIET_BATCH = 5000;
const BURST_END_MS = 250;
const PROBE_INTERVAL_MS = 3000;

export interface PendingRoute {
  readonly code: PendingCode;
  readonly reason: string;
}

export interface PassStats {
  readonly full: boolean;
  readonly keys: number;
  readonly writes: number;
  readonly failed: number;
  readonly durationMs: number;
}

export class Reconciler {
  readonly state = new KernelState();
  /** desired routes that are not in the kernel, and why */
  readonly pending = new Map<string, PendingRoute>();
  private dirty = new Set<string>();
  private allDirty = false;
  private neighboursDirty = false;
  /** keys (and neigh:<ifindex>) the kernel changed under us since the last pass */
  private drifted = new Set<string>();
  private readonly backoff: RepairBackoff;
  private readonly retryScheduled = new Set<string>();
  repairs = 0;
  private readonly lastProbe = new Map<string, number>();
  private probeTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private needDump = true;
  private running = false;
  private passStartedAt: number | undefined;
  private burstTimer: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sweepAllowed = false;
  private knownKeys: Set<string> | undefined = new Set();
  private stopped = false;
  private idleWaiters: Array<() => void> = [];
  passes = 0;
  writes = 0;
  failedWrites = 0;
  /** observes every pass (metrics) */
  onPass: ((stats: PassStats) => void) | undefined;
  lastPass: PassStats | undefined;
  private matches: (name: string) => boolean;
  /**
   * Tables whose routes of our protocol are ours: kernel.table and every table a source has
   * named since start. Grow-only. zebra writes its bgp routes with the same protocol (186)
   * into main; with kernel.table elsewhere they are neither tracked nor ever deleted.
   */
  private readonly ownedTables = new Set<number>();
  /** routes of our protocol seen in tables we do not own at the last dump */
  foreignRoutes = 0;

  constructor(
    private readonly kernel: KernelPort,
    private readonly rib: Rib,
    private readonly peers: PeerTable,
    private readonly config: Config,
    private readonly log: Logger,
    matches: (name: string) => boolean,
    now: () => number = Date.now,
  ) {
    this.matches = matches;
    this.now = now;
    this.backoff = new RepairBackoff(now);
    this.ownedTables.add(config.kernel.table);
  }

  /** A reload changed `interfaces`: re-plan everything under the new matcher. */
  setInterfaceMatcher(matches: (name: string) => boolean): void {
    this.matches = matches;
    this.markAllDirty();
  }

  ownsTable(table: number): boolean {
    return this.ownedTables.has(table);
  }

  /** A RIB key changed: it is ours to delete from now on, even before the sweep. */
  markDesiredChanged(key: string, table: number): void {
    if (!this.ownedTables.has(table)) {
      // Routes there were not tracked until now: a dump finds leftovers of ours to replace.
      this.ownedTables.add(table);
      this.needDump = true;
    }
    this.knownKeys?.add(key);
    this.markDirty(key);
  }

  /** The kernel changed at a key (an event): re-check it; a write that follows is a repair. */
  markDrift(key: string): void {
    this.drifted.add(key);
    this.markDirty(key);
  }

  private markDirty(key: string): void {
    this.dirty.add(key);
    this.schedule();
  }

  /** A placeholder neighbour changed on `ifindex`: the neighbour plan runs in every pass. */
  markNeighbourDrift(ifindex: number): void {
    this.drifted.add(`neigh:${ifindex}`);
    this.neighboursDirty = true;
    this.schedule();
  }

  /** Re-plan everything from what we hold (peers or links changed). */
  markAllDirty(): void {
    this.allDirty = true;
    this.schedule();
  }

  /** Dump the kernel, then re-plan everything (start-up, overrun, link changes, timer). */
  requestResync(): void {
    this.needDump = true;
    this.allDirty = true;
    this.schedule();
  }

  /** Sources have synced (or the stale timer fired): owned leftovers may now be swept. */
  allowSweep(): void {
    if (this.sweepAllowed) return;
    this.sweepAllowed = true;
    this.knownKeys = undefined;
    this.markAllDirty();
  }

  get sweeping(): boolean {
    return this.sweepAllowed;
  }

  /** Resolves when no pass is running or scheduled. */
  idle(): Promise<void> {
    if (!this.running && !this.timer) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    if (this.burstTimer) clearTimeout(this.burstTimer);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped || this.timer || this.running) return;
    // A short delay coalesces bursts (a replay, a flood of echoes) into one pass.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, 2);
  }

  private async run(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      while (!this.stopped && this.hasWork()) {
        await this.pass();
      }
    } catch (err) {
      this.log.error({ event: 'reconcileFailed', err }, 'reconcile pass failed; resync in 1 s');
      this.needDump = true;
      this.allDirty = true;
      setTimeout(() => this.schedule(), 1000).unref();
    } finally {
      this.running = false;
      if (!this.stopped && this.hasWork() && !this.timer) this.schedule();
      if (!this.timer && !this.running) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }

  async dump(): Promise<void> {
    const [links, neighbours] = [await this.kernel.dumpLinks(), await this.kernel.dumpNeighbours()];
    this.state.setLinks(links);
    this.state.setPlaceholders(neighbours.filter((n) => isPlaceholder(n)));
    // Swap in the dumped routes at once: status and events must never see a half-built table.
    let foreign = 0;
    const owned: KernelRoute[] = [];
    await this.kernel.dumpRoutes(this.config.kernel.protocol, (r) => {
      if (this.ownedTables.has(r.table)) owned.push(r);
      else foreign++;
    });
    this.state.clearRoutes();
    for (const r of owned) this.state.putRoute(r);
    if (foreign > 0 && foreign !== this.foreignRoutes) {
      this.log.info({ event: 'foreignRoutesIgnored', count: foreign, protocol: this.config.kernel.protocol },
        'routes of our protocol in tables no source of ours names (zebra\'s own bgp routes, say): left alone');
    }
    this.foreignRoutes = foreign;
    this.onNeighboursDumped?.(neighbours);
  }

  /** lets the daemon feed IPv6 neighbour entries (peer evidence) from the same dump */
  onNeighboursDumped: ((n: Awaited<ReturnType<KernelPort['dumpNeighbours']>>) => void) | undefined;

  private hasWork(): boolean {
    return this.needDump || this.allDirty || this.neighboursDirty || this.dirty.size > 0;
  }

  /**
   * A big write batch: our own route events would only flood the event socket (and cost a
   * second plan per route), so they are off until the burst has been quiet for BURST_END_MS;
   * then one dump tells whatever happened meanwhile. One dump per burst, not per pass: a
   * dump per pass re-reads a growing table and is quadratic over a million-route feed.
   */
  private beginBurst(): void {
    this.kernel.setRouteEvents(false);
    if (this.burstTimer) clearTimeout(this.burstTimer);
    this.burstTimer = setTimeout(() => {
      this.burstTimer = undefined;
      this.kernel.setRouteEvents(true); // before the dump, so nothing falls between the two
      this.needDump = true;
      this.schedule();
    }, BURST_END_MS);
    this.burstTimer.unref();
  }

  /** how long the running pass has taken so far (0 when idle): a stuck writer shows here */
  busyForMs(): number {
    return this.passStartedAt === undefined ? 0 : performance.now() - this.passStartedAt;
  }

  private async pass(): Promise<void> {
    const t0 = performance.now();
    this.passStartedAt = t0;
    try {
      await this.passBody(t0);
    } finally {
      this.passStartedAt = undefined;
    }
  }

  private async passBody(t0: number): Promise<void> {
    this.neighboursDirty = false;
    if (this.needDump) {
      this.needDump = false;
      await this.dump();
    }
    const full = this.allDirty;
    const keys: Iterable<string> = full ? this.allKeys() : this.dirty;
    this.allDirty = false;
    const dirty = this.dirty;
    this.dirty = new Set();

    const { protocol, metric } = this.config.kernel;
    const state = this.state;
    const resolver = new Resolver({
      link: (name) => {
        const l = state.linkByName(name);
        return l && { ifindex: l.ifindex, name: l.name, up: isLinkUp(l.flags), managed: this.matches(name) };
      },
      peersOn: (ifname) => this.rib.peersOn(ifname).keys(),
      learntPeersOn: (ifname) => (this.rib.wantsLearntPeer(ifname) ? this.peers.learntOn(ifname) : []),
      resolvePeer: (ifname, ll) => this.peers.resolve(ifname, ll),
      placeholder: (ifindex) => {
        const n = state.placeholders.get(ifindex);
        return n && { mac: n.mac, protocol: n.protocol, foreign: isPermanent(n.state) && n.protocol !== protocol };
      },
    });
    const neigh = planNeighbours({
      interfaces: this.rib.interfaces(),
      resolver,
      observed: state.placeholders,
      protocol,
      ifname: (ifindex) => state.links.get(ifindex)?.name,
      mayDelete: (ifindex) => state.ownedLegsOn(ifindex) === 0,
    }, isPermanent);
    const routes = planRoutes({
      keys,
      desired: (k) => this.rib.get(k),
      observed: (k) => state.ownedRoutes.get(k),
      resolver,
      protocol,
      metric,
      mayDelete: (k) => this.sweepAllowed || (this.knownKeys?.has(k) ?? true),
    });
    // Route deletes go first so that a neighbour delete never strands a route.
    const ops = this.throttleRepairs([...neigh.adds, ...routes.ops, ...neigh.deletes]);
    ops.push(...this.probesForUnresolvedPeers());
    let failed = 0;
    if (ops.length > 0) {
      const quiet = routes.ops.length > QUIET_BATCH;
      if (quiet) this.beginBurst();
      const results = await this.kernel.apply(ops);
      failed = this.record(ops, results, routes.verdicts);
      this.writes += ops.length - failed;
      this.failedWrites += failed;
    }
    this.updatePending(routes.verdicts, full ? undefined : dirty);
    this.passes++;
    const stats: PassStats = { full, keys: full ? this.rib.size : dirty.size, writes: ops.length - failed, failed, durationMs: performance.now() - t0 };
    this.lastPass = stats;
    this.onPass?.(stats);
    if (ops.length > 0 || full) {
      this.log[ops.length > 0 ? 'info' : 'debug']({ event: 'reconcilePass', ...stats, pending: this.pending.size, desired: this.rib.size }, 'reconcile pass');
    }
  }

  /**
   * A peer whose link-local carries no MAC and that nothing has told us about yet: ask the
   * kernel to solicit it (NTF_USE on its IPv6 neighbour entry), every few seconds until the
   * answer arrives as an RTM_NEWNEIGH.
   */
  private probesForUnresolvedPeers(): KernelOp[] {
    const ops: KernelOp[] = [];
    const now = this.now();
    for (const ifname of this.rib.interfaces()) {
      const link = this.state.linkByName(ifname);
      if (!link || !isLinkUp(link.flags) || !this.matches(ifname)) continue;
      for (const ll of this.rib.peersOn(ifname).keys()) {
        if (this.peers.resolve(ifname, ll).resolved) continue;
        const k = peerKey(ifname, ll);
        if (now - (this.lastProbe.get(k) ?? -Infinity) < PROBE_INTERVAL_MS) continue;
        this.lastProbe.set(k, now);
        ops.push({ kind: 'neigh.probe', ifindex: link.ifindex, ifname, linkLocal: ll });
      }
    }
    if (ops.length > 0 && !this.probeTimer) {
      this.probeTimer = setTimeout(() => {
        this.probeTimer = undefined;
        this.neighboursDirty = true;
        this.schedule();
      }, PROBE_INTERVAL_MS);
      this.probeTimer.unref();
    }
    if (this.lastProbe.size > 10_000) this.lastProbe.clear();
    return ops;
  }

  /** Writes that undo someone else's change are repairs: logged, counted, backed off when fought over. */
  private throttleRepairs(planned: KernelOp[]): KernelOp[] {
    const drifted = this.drifted;
    this.drifted = new Set();
    if (drifted.size === 0) return planned;
    const kept: KernelOp[] = [];
    const repaired: string[] = [];
    for (const op of planned) {
      const key = op.kind.startsWith('neigh.') ? `neigh:${(op as { ifindex: number }).ifindex}` : (op as { key: string }).key;
      if (!drifted.has(key)) {
        kept.push(op);
        continue;
      }
      const d = this.backoff.request(key);
      if (d.allowed) {
        kept.push(op);
        repaired.push(key);
        continue;
      }
      if (d.episodeStarted) {
        this.log.warn({ event: 'repairBackoff', key, retryInMs: d.retryAtMs - this.now() }, 'another writer keeps changing what we own; backing off');
      }
      // One retry timer per backed-off key, however many events arrive meanwhile.
      if (this.retryScheduled.has(key)) continue;
      this.retryScheduled.add(key);
      const retry = setTimeout(() => {
        this.retryScheduled.delete(key);
        if (key.startsWith('neigh:')) this.markNeighbourDrift(Number(key.slice(6)));
        else this.markDrift(key);
      }, Math.max(0, d.retryAtMs - this.now()));
      retry.unref();
    }
    if (repaired.length > 0) {
      this.repairs += repaired.length;
      this.log.info({ event: 'driftRepaired', count: repaired.length, keys: repaired.slice(0, 10) }, 'repairing what someone else changed');
    }
    this.backoff.prune();
    return kept;
  }

  private allKeys(): Iterable<string> {
    const rib = this.rib;
    const owned = this.state.ownedRoutes;
    return (function* () {
      yield* rib.keys();
      for (const k of owned.keys()) if (!rib.get(k)) yield k;
    })();
  }

  private record(ops: readonly KernelOp[], results: readonly OpResult[], verdicts: Map<string, RouteVerdict>): number {
    let failed = 0;
    ops.forEach((op, i) => {
      const res = results[i]!;
      if (res.ok) {
        this.applyToState(op);
        if (op.kind.startsWith('route.')) this.log.debug({ event: 'routeWritten', op: op.kind, key: (op as { key: string }).key }, op.kind);
        else if (op.kind === 'neigh.probe') this.log.debug({ event: 'peerProbed', ifname: op.ifname, peer: op.linkLocal }, 'neighbour solicitation requested');
        else this.log.info({ event: 'neighbourWritten', op: op.kind, ifname: (op as { ifname: string }).ifname, mac: (op as { mac?: string }).mac }, op.kind);
        return;
      }
      failed++;
      if (op.kind === 'route.create' || op.kind === 'route.replace') {
        const conflict = op.kind === 'route.create' && res.errno === EEXIST;
        verdicts.set(op.key, {
          state: 'pending',
          code: conflict ? 'route-conflict' : 'kernel-error',
          reason: conflict
            ? `a route of another protocol holds ${op.key} at metric ${op.route.metric}; it is left alone`
            : `the kernel refused the route: ${res.error}`,
          op: 'none',
        });
        this.log.warn({ event: conflict ? 'routeConflict' : 'routeRejected', key: op.key, error: res.error }, conflict ? 'foreign route in the way' : 'kernel refused route');
      } else if (op.kind === 'route.delete' && res.errno === 3 /* ESRCH: already gone */) {
        this.applyToState(op);
      } else {
        this.log.warn({ event: 'kernelWriteFailed', op: op.kind, error: res.error, ifname: (op as { ifname?: string }).ifname }, 'kernel write failed');
        if (op.kind === 'neigh.replace') this.needDump = true;
      }
    });
    return failed;
  }

  private applyToState(op: KernelOp): void {
    switch (op.kind) {
      case 'route.create':
      case 'route.replace':
        this.state.putRoute(op.route);
        break;
      case 'route.delete':
        this.state.removeRoute(op.route);
        break;
      case 'neigh.replace':
        this.state.placeholders.set(op.ifindex, { ifindex: op.ifindex, mac: op.mac, state: 0x80, protocol: op.protocol });
        break;
      case 'neigh.delete':
        this.state.removePlaceholder(op.ifindex);
        break;
      case 'neigh.probe':
        break;
    }
  }

  private updatePending(verdicts: ReadonlyMap<string, RouteVerdict>, only: Set<string> | undefined): void {
    if (!only) {
      // a full pass saw every desired key; drop pending entries of keys no longer desired
      for (const k of this.pending.keys()) if (!this.rib.get(k)) this.pending.delete(k);
    } else {
      for (const k of only) if (!this.rib.get(k)) this.pending.delete(k);
    }
    for (const [k, v] of verdicts) {
      const before = this.pending.get(k);
      if (v.state === 'pending') {
        if (!before || before.reason !== v.reason) this.log.debug({ event: 'routePending', key: k, code: v.code, reason: v.reason }, 'route pending');
        this.pending.set(k, { code: v.code, reason: v.reason });
      } else if (before) {
        this.pending.delete(k);
        this.log.debug({ event: 'routeInstalled', key: k }, 'route installed');
      }
    }
  }
}
