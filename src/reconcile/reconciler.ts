// The only writer to the kernel. Level-triggered: events and source updates only mark
// keys dirty; each pass plans from the full desired and observed state of those keys
// (or of everything, after a dump). One pass runs at a time; bursts coalesce.
import { constants } from 'node:os';
import type { Config } from '../config/config.js';
import { Forwardings } from '../kernel/forwardings.js';
import { isLinkUp, isPermanent, isPlaceholder, KernelState } from '../kernel/kernel-state.js';
import type { KernelPort, OpFailure } from '../kernel/kernel.js';
import {
  NUD_PERMANENT, RTN_THROW, type KernelLink, type KernelNeighbour, type KernelRoute, type KernelRule, type NexthopObject, type RouteLeg,
} from '../kernel/rtnetlink-codec.js';
import { RT_TABLE_MAIN } from '../model/route-table.js';
import { numberToIpv4 } from '../model/ipv4-prefix.js';
import type { LinkLocal } from '../model/link-local.js';
import type { Logger } from '../log.js';
import { systemClock, type Clock, type Timer } from '../runtime/clock.js';
import { peerKey, type PeerTable } from '../peers/peer-table.js';
import { F_DIRTY, F_KNOWN, NONE } from '../rib/route-store.js';
import type { Rib } from '../rib/rib.js';
import type { KernelOp, OpResult } from '../kernel/kernel-ops.js';
import { OP_CREATE, OP_DELETE, planNeighbours, planRoutes, RouteOps, type RouteVerdict } from './plan.js';
import { GatewayPool } from './gateway-pool.js';
import { shadows } from './longest-match.js';
import { OwnTable, type OwnTablePlan } from './own-table.js';
import { asHeld, NexthopObjects } from './nexthop-objects.js';
import { RepairBackoff } from './repair-backoff.js';
import { Resolver, type PendingCode } from './resolver.js';
import { ResolverFindings } from './resolver-findings.js';

const { EEXIST, ESRCH, ENOENT } = constants.errno;
/** Above this many route writes, our own route events would only flood the event socket. */
const QUIET_BATCH = 5000;
const BURST_END_MS = 250;
const PROBE_INTERVAL_MS = 3000;
/** main tables smaller than this are re-read after every big write burst */
const MAIN_REREAD_AFTER_BURST = 50_000;
/** a pass slower than this is logged at info even when it wrote nothing */
const SLOW_PASS_MS = 100;

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

/** what the reconciler tells status, metrics and the watchdog: a copy, read-only */
export interface ReconcilerStats {
  readonly passes: number;
  readonly writes: number;
  readonly failedWrites: number;
  readonly repairs: number;
  readonly lastPass: PassStats | undefined;
  /** desired routes not in the kernel */
  readonly pending: number;
  /** owned leftovers may be removed (sources synced) */
  readonly sweeping: boolean;
  /** how long the running pass has taken so far; 0 when idle */
  readonly busyForMs: number;
  /** routes of our protocol in tables we do not own, at the last dump */
  readonly foreignRoutes: number;
  readonly ownedRoutes: number;
  readonly placeholders: number;
}

/** Pending reasons, interned: a slot stores a number; a million pending routes share a few texts. */
class PendingReasons {
  private readonly byText = new Map<string, number>();
  private readonly all: PendingRoute[] = [{ code: 'kernel-error', reason: '' }];
  private readonly byVerdict = new WeakMap<object, number>();

  id(p: PendingRoute): number {
    const cached = this.byVerdict.get(p);
    if (cached !== undefined) return cached;
    const text = `${p.code}\n${p.reason}`;
    let id = this.byText.get(text);
    if (id === undefined) {
      id = this.all.length;
      this.all.push({ code: p.code, reason: p.reason });
      this.byText.set(text, id);
    }
    this.byVerdict.set(p, id);
    return id;
  }

  get(id: number): PendingRoute | undefined {
    return id === NONE ? undefined : this.all[id];
  }
}

export class Reconciler {
  readonly forwardings = new Forwardings();
  readonly state: KernelState;
  /** our table's policy rule and throw routes (longest match across it and main) */
  readonly ownTable: OwnTable;
  private readonly gateways: GatewayPool;
  private readonly nexthopObjects: NexthopObjects | undefined;
  private readonly reasons = new PendingReasons();
  /** zebra placeholders that disagree with us, ambiguous learnt peers: once per episode */
  readonly findings: ResolverFindings;
  private dirty: number[] = [];
  private allDirty = false;
  private neighboursDirty = false;
  /** slots the kernel changed under us since the last pass */
  private drifted = new Set<number>();
  /** ifindexes whose placeholder the kernel changed under us */
  private driftedNeighbours = new Set<number>();
  private readonly backoff: RepairBackoff;
  private readonly retryScheduled = new Set<string>();
  repairs = 0;
  private readonly lastProbe = new Map<string, number>();
  private probeTimer: Timer | undefined;
  private readonly now: () => number;
  private needDump = true;
  /** main is re-read with the next dump (see dump()) */
  private mainDumpDue = true;
  private running = false;
  private passStartedAt: number | undefined;
  private burstTimer: Timer | undefined;
  private timer: Timer | undefined;
  private sweepAllowed = false;
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
    private readonly clock: Clock = systemClock,
  ) {
    this.matches = matches;
    this.now = () => clock.now();
    this.backoff = new RepairBackoff(this.now);
    this.findings = new ResolverFindings(log);
    this.ownedTables.add(config.kernel.table);
    this.state = new KernelState(rib.store, this.forwardings, config.kernel.metric);
    const { first, size, text } = config.kernel.gatewayPool;
    this.gateways = new GatewayPool(first, size, text);
    if (config.kernel.nexthopObjects) this.nexthopObjects = new NexthopObjects(config.kernel.protocol, this.state.nexthops);
    const { table, protocol, metric, rulePriority } = config.kernel;
    this.ownTable = new OwnTable({ table, protocol, metric, rulePriority });
  }

  /** A policy rule changed (anyone's): ours is re-created if it went. */
  noteKernelRule(change: 'new' | 'del', r: KernelRule): void {
    if (!this.ownTable.keepsRule || !this.ownTable.isOurRule(r)) return;
    this.ownTable.noteRule(change, r);
    this.schedule();
  }

  /** graceful.withdraw-on-exit: the rule goes with the routes */
  releaseRule(): void {
    this.ownTable.releaseRule();
    this.schedule();
  }

  /**
   * A nexthop object changed under us (someone's `ip nexthop del`; the kernel's own flush on
   * link down sends nothing, the link event's resync covers that): re-plan everything.
   */
  noteKernelNexthop(change: 'new' | 'del', nh: NexthopObject): void {
    if (!this.nexthopObjects) return;
    if (change === 'new') this.state.nexthops.set(nh.id, nh);
    else this.state.nexthops.delete(nh.id);
    if (nh.protocol === this.config.kernel.protocol) this.markAllDirty();
  }

  /** the placeholder that stands for a peer (neighbor mode), as text */
  placeholderOf(ifname: string, linkLocal: LinkLocal): string | undefined {
    // via mode numbers no peer: the pool stays empty there
    const link = this.state.linkByName(ifname);
    const g = link && this.gateways.gatewayOf(link.ifindex, linkLocal);
    return g === undefined ? undefined : numberToIpv4(g);
  }

  /** whether a neighbour entry is at one of our placeholder addresses (whoever wrote it) */
  isPlaceholder(n: KernelNeighbour): boolean {
    return isPlaceholder(n, (addr) => this.gateways.contains(addr));
  }

  /** A reload changed `interfaces`: re-plan everything under the new matcher. */
  setInterfaceMatcher(matches: (name: string) => boolean): void {
    this.matches = matches;
    this.markAllDirty();
  }

  /** desired routes that are not in the kernel */
  get pendingCount(): number {
    return this.rib.store.pendingCount;
  }

  /** why the route at a slot is not in the kernel; undefined when it is (or is not desired) */
  pendingAt(slot: number): PendingRoute | undefined {
    return this.reasons.get(this.rib.store.pending[slot]!);
  }

  /** A RIB slot changed: it is ours to delete from now on, even before the sweep. */
  markDesiredChanged(slot: number): void {
    const table = this.rib.store.table[slot]!;
    if (!this.ownedTables.has(table)) {
      // Routes there were not tracked until now: a dump finds leftovers of ours to replace.
      this.ownedTables.add(table);
      this.needDump = true;
    }
    this.rib.store.flags[slot]! |= F_KNOWN;
    if (table === this.config.kernel.table) this.ownTable.noteOurs(this.rib.store.addr[slot]!, this.rib.store.len[slot]!);
    this.markDirty(slot);
  }

  /** The kernel changed a route of ours (an event): re-check it; a write that follows is a repair. */
  noteKernelRoute(change: 'new' | 'del', r: KernelRoute): void {
    const own = this.ownTable;
    if (r.protocol !== this.config.kernel.protocol || !this.ownedTables.has(r.table)) {
      // main's routes, anyone's but ours: one more specific than a prefix of ours needs a throw
      if (r.table === RT_TABLE_MAIN && own.keepsThrows) {
        own.noteMainRoute(change, r.dst, r.dstLen, r.metric, shadows(r.type, r.tos ?? 0));
        this.schedule();
      }
      return;
    }
    if (r.table === this.config.kernel.table) {
      if (r.type === RTN_THROW) {
        own.noteThrow(change, r.dst, r.dstLen, r.metric);
        this.schedule();
        return;
      }
      own.noteOurs(r.dst, r.dstLen); // a route of ours came or went: the throws it needs may differ
    }
    const slot = change === 'new' ? this.state.putKernelRoute(r) : this.state.removeRoute(r.table, r.dst, r.dstLen, r.metric);
    if (slot >= 0) this.markDrift(slot);
  }

  private markDirty(slot: number): void {
    const flags = this.rib.store.flags;
    if (!(flags[slot]! & F_DIRTY)) {
      flags[slot]! |= F_DIRTY;
      this.dirty.push(slot);
    }
    this.schedule();
  }

  /** A placeholder neighbour changed on `ifindex`: the neighbour plan runs in every pass. */
  markNeighbourDrift(ifindex: number): void {
    this.driftedNeighbours.add(ifindex);
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
    this.mainDumpDue = true;
    this.allDirty = true;
    this.schedule();
  }

  /** Sources have synced (or the stale timer fired): owned leftovers may now be swept. */
  allowSweep(): void {
    if (this.sweepAllowed) return;
    this.sweepAllowed = true;
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
    this.probeTimer?.cancel();
    this.burstTimer?.cancel();
    this.timer?.cancel();
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped || this.timer || this.running) return;
    // A short delay coalesces bursts (a replay, a flood of echoes) into one pass.
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, 2, true);
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
      this.mainDumpDue = true;
      this.allDirty = true;
      this.clock.setTimeout(() => this.schedule(), 1000);
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
    this.state.setPlaceholders(neighbours.filter((n) => this.isPlaceholder(n)));
    if (this.nexthopObjects) {
      this.state.setNexthops(await this.kernel.dumpNexthops());
      this.nexthopObjects.adopt();
    }
    const own = this.ownTable;
    if (own.keepsRule) own.setRules(await this.kernel.dumpRules());
    if (own.keepsThrows && this.mainDumpDue) {
      this.mainDumpDue = false;
      await this.dumpMain();
    }
    let foreign = 0;
    const { state, forwardings, ownedTables } = this;
    const ourTable = this.config.kernel.table;
    await this.kernel.dumpRoutes(this.config.kernel.protocol, {
      begin: () => {
        foreign = 0;
        state.beginDump();
        own.beginThrowDump();
      },
      route: (r, decode) => {
        if (!ownedTables.has(r.table)) {
          foreign++;
          return;
        }
        if (r.table === ourTable) {
          if (r.type === RTN_THROW) {
            own.noteThrow('new', r.dst, r.dstLen, r.metric);
            return;
          }
          own.noteOurLength(r.dstLen); // re-read, not changed: events and the sources tell changes
        }
        const fwd = forwardings.internRaw(r.forwardingBytes, () => {
          const k = decode();
          return { legs: [...k.legs], nhId: k.nhId };
        });
        state.putRoute(r.table, r.dst, r.dstLen, r.metric, fwd);
      },
    });
    state.endDump();
    if (foreign > 0 && foreign !== this.foreignRoutes) {
      this.log.info({ event: 'foreignRoutesIgnored', count: foreign, protocol: this.config.kernel.protocol },
        'routes of our protocol in tables no source of ours names (zebra\'s own bgp routes, say): left alone');
    }
    this.foreignRoutes = foreign;
    // awaited: a source reading kernel tables (sources.kernel.tables) replays here, before the plan
    await this.onDumped?.(links, neighbours);
  }

  /**
   * main's routes that may shadow ours. All protocols, one table: the kernel filters by table
   * (NETLINK_GET_STRICT_CHK), so this costs what main holds (a few connected routes, or
   * zebra's copies of everything), not what our table holds.
   */
  private async dumpMain(): Promise<void> {
    const own = this.ownTable;
    const { protocol } = this.config.kernel;
    const mainIsOurs = this.ownedTables.has(RT_TABLE_MAIN);
    await this.kernel.dumpTablePrefixes(RT_TABLE_MAIN, {
      begin: () => own.beginMainDump(),
      route: (r) => {
        if (mainIsOurs && r.protocol === protocol) return;
        own.mainDumped(r.dst, r.dstLen, r.metric, shadows(r.type, r.tos));
      },
    });
  }

  /** lets the daemon take what a dump shows besides our state: VRF tables, peer evidence, source tables */
  onDumped: ((links: readonly KernelLink[], neighbours: readonly KernelNeighbour[]) => void | Promise<void>) | undefined;

  private hasWork(): boolean {
    return this.needDump || this.allDirty || this.neighboursDirty || this.dirty.length > 0 || this.ownTable.needsPlan;
  }

  /**
   * A big write batch: our own route events would only flood the event socket (and cost a
   * decode each), so they are off while it is written and until the writing has been quiet
   * for BURST_END_MS (counted from the end of the last big write, not its start: a
   * million-route write outlasts any fixed delay); then one dump tells whatever happened
   * meanwhile. One dump per burst, not per pass: a dump per pass re-reads a growing table
   * and is quadratic over a million-route feed.
   */
  private beginBurst(): void {
    this.kernel.setRouteEvents(false);
    this.burstTimer?.cancel();
    this.burstTimer = undefined;
  }

  private endBurst(): void {
    this.burstTimer = this.clock.setTimeout(() => {
      this.burstTimer = undefined;
      this.kernel.setRouteEvents(true); // before the dump, so nothing falls between the two
      this.needDump = true;
      // main's events were off too. A small main is re-read now; a big one (zebra's copy of a
      // big feed: a second of dump and plan at a million) waits for the next full resync, at
      // most reconcile.resync-interval away, rather than once per burst of a replay.
      if (this.ownTable.main.size < MAIN_REREAD_AFTER_BURST) this.mainDumpDue = true;
      this.schedule();
    }, BURST_END_MS);
  }

  stats(): ReconcilerStats {
    return {
      passes: this.passes,
      writes: this.writes,
      failedWrites: this.failedWrites,
      repairs: this.repairs,
      lastPass: this.lastPass,
      pending: this.pendingCount,
      sweeping: this.sweepAllowed,
      busyForMs: this.busyForMs(),
      foreignRoutes: this.foreignRoutes,
      ownedRoutes: this.state.ownedRouteCount,
      placeholders: this.state.placeholders.size,
    };
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

  private resolver(): Resolver {
    const { protocol } = this.config.kernel;
    const state = this.state;
    return new Resolver({
      link: (name) => {
        const l = state.linkByName(name);
        return l && { ifindex: l.ifindex, name: l.name, up: isLinkUp(l.flags), managed: this.matches(name) };
      },
      peersOn: (ifname) => this.rib.peersOn(ifname).keys(),
      learntPeersOn: (ifname) => (this.rib.wantsLearntPeer(ifname) ? this.peers.learntOn(ifname) : []),
      resolvePeer: (ifname, ll) => this.peers.resolve(ifname, ll),
      placeholdersOn: (ifindex) => state.placeholdersOn(ifindex).map((n) => ({
        gateway: n.gateway, mac: n.mac, permanent: isPermanent(n.state), ours: n.protocol === protocol, protocol: n.protocol,
      })),
    }, this.config.kernel.mode, this.gateways);
  }

  private async passBody(t0: number): Promise<void> {
    this.neighboursDirty = false;
    if (this.needDump) {
      this.needDump = false;
      await this.dump();
    }
    const store = this.rib.store;
    const full = this.allDirty;
    this.allDirty = false;
    const queued = this.dirty;
    this.dirty = [];
    const slots: Iterable<number> = full ? store.slots() : queued;

    const { protocol, metric } = this.config.kernel;
    const resolver = this.resolver();
    // via mode needs no placeholders; any of ours left from neighbor mode go once unused.
    const viaMode = this.config.kernel.mode === 'via';
    const neigh = planNeighbours({
      interfaces: viaMode ? [] : this.rib.interfaces(),
      resolver,
      observed: this.state.placeholders,
      protocol,
      ifname: (ifindex) => this.state.links.get(ifindex)?.name,
      mayDelete: (ifindex, gateway) => this.state.ownedRoutesVia(ifindex, gateway) === 0,
    }, isPermanent);
    // A peer moved to another gateway: routes this pass did not plan still use the old one.
    if (!viaMode && this.gateways.endPass() && !full) this.allDirty = true;
    const debug = this.log.isLevelEnabled('debug');
    let keys = 0;
    const routes = planRoutes({
      slots,
      store,
      nexthopSets: this.rib.nexthopSets,
      forwardings: this.forwardings,
      resolver,
      metric,
      ...(this.nexthopObjects ? { nexthopIdFor: (legs: readonly RouteLeg[]) => this.nexthopObjects!.idFor(legs) } : {}),
      mayDelete: (s) => this.sweepAllowed || (store.flags[s]! & F_KNOWN) !== 0,
      verdict: (s, v) => {
        keys++;
        this.noteVerdict(s, v, debug);
      },
    });
    this.findings.notePass(resolver, full);
    // Route deletes go first so that a neighbour delete never strands a route.
    const routeOps = this.throttleRouteRepairs(routes);
    const neighAdds = this.throttleNeighbourRepairs(neigh.adds);
    const nexthops = this.nexthopObjects?.plan((id) => this.forwardings.routesUsing(id));
    const own = full || this.ownTable.needsPlan ? this.throttleOwnTableRepairs(this.ownTable.plan((addr, len) => this.holdsOurs(addr, len))) : undefined;
    // Neighbours, then the nexthop objects over them, then routes; deletes the other way round.
    // Throws that give way to a route of ours go before it; new throws and the rule after.
    const beforeRoutes = [...neighAdds, ...(nexthops?.adds ?? []), ...(own?.beforeRoutes ?? [])];
    const afterRoutes = [
      ...(nexthops?.deletes ?? []), ...this.throttleNeighbourRepairs(neigh.deletes), ...(viaMode ? [] : this.probesForUnresolvedPeers()),
      ...(own?.afterRoutes ?? []),
    ];
    this.driftedNeighbours = new Set();
    let failed = 0;
    if (beforeRoutes.length > 0) failed += this.recordOps(beforeRoutes, await this.kernel.apply(beforeRoutes));
    if (routeOps.length > 0) {
      const quiet = routeOps.length > QUIET_BATCH;
      if (quiet) this.beginBurst();
      try {
        failed += this.recordRoutes(routeOps, await this.kernel.applyRoutes(routeOps, this.rib.store, this.forwardings, protocol, metric), debug);
      } finally {
        if (quiet) this.endBurst();
      }
    }
    if (afterRoutes.length > 0) failed += this.recordOps(afterRoutes, await this.kernel.apply(afterRoutes));
    const attempted = beforeRoutes.length + routeOps.length + afterRoutes.length;
    this.writes += attempted - failed;
    this.failedWrites += failed;
    // Slots planned: off the queue, and freed when nothing refers to them any more.
    for (const s of queued) {
      store.flags[s]! &= ~F_DIRTY;
      store.releaseIfUnused(s);
    }
    this.passes++;
    const stats: PassStats = { full, keys, writes: attempted - failed, failed, durationMs: performance.now() - t0 };
    this.lastPass = stats;
    this.onPass?.(stats);
    // info only when the pass changed the kernel or was slow; neighbour probes (every 3 s for
    // an unresolved peer) and converged resyncs are debug, or they drown everything else
    const probes = afterRoutes.reduce((n, op) => n + (op.kind === 'neigh.probe' ? 1 : 0), 0);
    const notable = attempted - probes > 0 || stats.durationMs > SLOW_PASS_MS;
    if (notable || attempted > 0 || full) {
      this.log[notable ? 'info' : 'debug']({ event: 'reconcilePass', ...stats, pending: store.pendingCount, desired: this.rib.size }, 'reconcile pass');
    }
  }

  /** whether we want or hold a route for this prefix in our table */
  private holdsOurs(addr: number, len: number): boolean {
    const store = this.rib.store;
    const s = store.find(this.config.kernel.table, addr, len);
    return s >= 0 && (store.desired[s] !== NONE || store.observed[s] !== NONE);
  }

  private noteVerdict(s: number, v: RouteVerdict, debug: boolean): void {
    const store = this.rib.store;
    if (v.state === 'pending') {
      const id = this.reasons.id(v);
      if (debug && store.pending[s] !== id) this.log.debug({ event: 'routePending', key: this.rib.keyOf(s), code: v.code, reason: v.reason }, 'route pending');
      store.setPending(s, id);
      return;
    }
    if (store.pending[s] !== NONE) {
      store.setPending(s, NONE);
      if (debug && v.state === 'installed') this.log.debug({ event: 'routeInstalled', key: this.rib.keyOf(s) }, 'route installed');
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
      this.probeTimer = this.clock.setTimeout(() => {
        this.probeTimer = undefined;
        this.neighboursDirty = true;
        this.schedule();
      }, PROBE_INTERVAL_MS);
    }
    if (this.lastProbe.size > 10_000) this.lastProbe.clear();
    return ops;
  }

  /**
   * Whether a write that undoes someone else's change may go now: repairs are logged,
   * counted, and backed off when fought over (one retry timer per key).
   */
  private repairAllowed(key: string, retry: () => void): boolean {
    const d = this.backoff.request(key);
    if (d.allowed) return true;
    if (d.episodeStarted) {
      this.log.warn({ event: 'repairBackoff', key, retryInMs: d.retryAtMs - this.now() }, 'another writer keeps changing what we own; backing off');
    }
    if (!this.retryScheduled.has(key)) {
      this.retryScheduled.add(key);
      this.clock.setTimeout(() => {
        this.retryScheduled.delete(key);
        retry();
      }, Math.max(0, d.retryAtMs - this.now()));
    }
    return false;
  }

  private noteRepairs(repaired: string[]): void {
    if (repaired.length === 0) return;
    this.repairs += repaired.length;
    this.log.info({ event: 'driftRepaired', count: repaired.length, keys: repaired.slice(0, 10) }, 'repairing what someone else changed');
    this.backoff.prune();
  }

  private throttleRouteRepairs(planned: RouteOps): RouteOps {
    const drifted = this.drifted;
    this.drifted = new Set();
    if (drifted.size === 0) return planned;
    const kept = new RouteOps();
    const repaired: string[] = [];
    const decided = new Map<number, boolean>();
    for (let i = 0; i < planned.length; i++) {
      const s = planned.slot[i]!;
      let allowed = true;
      if (drifted.has(s)) {
        allowed = decided.get(s) ?? (() => {
          const key = this.rib.keyOf(s);
          const ok = this.repairAllowed(key, () => {
            if (this.rib.store.isLive(s)) this.markDrift(s);
          });
          if (ok) repaired.push(key);
          return ok;
        })();
        decided.set(s, allowed);
      }
      if (allowed) kept.push(planned.kind[i] as 1 | 2 | 3, s, planned.arg[i]!);
    }
    this.noteRepairs(repaired);
    return kept;
  }

  /** re-making our rule or a throw someone deleted is a repair: logged, counted, backed off when fought over */
  private throttleOwnTableRepairs(plan: OwnTablePlan): OwnTablePlan {
    const own = this.ownTable;
    const repaired: string[] = [];
    const keep = (op: KernelOp): boolean => {
      if (!own.isRepair(op)) return true;
      const subject = opSubject(op);
      const key = op.kind === 'rule.create' ? `rule:${String(subject.priority)}` : `throw:${String(subject.key)}`;
      const ok = this.repairAllowed(key, () => {
        own.markDirty();
        this.schedule();
      });
      if (ok) repaired.push(key);
      return ok;
    };
    const out = { beforeRoutes: plan.beforeRoutes.filter(keep), afterRoutes: plan.afterRoutes.filter(keep) };
    own.clearDrift();
    this.noteRepairs(repaired);
    return out;
  }

  private markDrift(s: number): void {
    this.drifted.add(s);
    this.markDirty(s);
  }

  private throttleNeighbourRepairs(planned: KernelOp[]): KernelOp[] {
    if (this.driftedNeighbours.size === 0) return planned;
    const repaired: string[] = [];
    const kept = planned.filter((op) => {
      if (!('ifindex' in op) || !this.driftedNeighbours.has(op.ifindex)) return true;
      const key = `neigh:${op.ifindex}`;
      const ok = this.repairAllowed(key, () => this.markNeighbourDrift(op.ifindex));
      if (ok) repaired.push(key);
      return ok;
    });
    this.noteRepairs(repaired);
    return kept;
  }

  private recordRoutes(ops: RouteOps, failures: Map<number, OpFailure>, debug: boolean): number {
    let failed = 0;
    for (let i = 0; i < ops.length; i++) {
      const s = ops.slot[i]!;
      const kind = ops.kind[i]!;
      const f = failures.get(i);
      if (f && !(kind === OP_DELETE && f.errno === ESRCH /* already gone */)) {
        failed++;
        this.routeWriteFailed(s, kind, f);
        continue;
      }
      if (kind === OP_DELETE) {
        this.state.forgetRoute(s, ops.arg[i]!);
        // a prefix of ours gone from our table: throws inside it may go too
        if (this.rib.store.table[s] === this.config.kernel.table) this.ownTable.noteOurs(this.rib.store.addr[s]!, this.rib.store.len[s]!);
      } else {
        this.state.setObserved(s, ops.arg[i]!);
      }
      if (debug) this.log.debug({ event: 'routeWritten', op: kind === OP_DELETE ? 'route.delete' : kind === OP_CREATE ? 'route.create' : 'route.replace', key: this.rib.keyOf(s) }, 'route written');
    }
    return failed;
  }

  private routeWriteFailed(s: number, kind: number, f: OpFailure): void {
    const key = this.rib.keyOf(s);
    if (kind === OP_DELETE) {
      this.log.warn({ event: 'kernelWriteFailed', op: 'route.delete', key, error: f.error }, 'kernel write failed');
      return;
    }
    const conflict = kind === OP_CREATE && f.errno === EEXIST;
    const reason = conflict
      ? `a route of another protocol holds this prefix at metric ${this.config.kernel.metric}; it is left alone`
      : `the kernel refused the route: ${f.error}`;
    this.rib.store.setPending(s, this.reasons.id({ code: conflict ? 'route-conflict' : 'kernel-error', reason }));
    this.log.warn({ event: conflict ? 'routeConflict' : 'routeRejected', key, error: f.error }, conflict ? 'foreign route in the way' : 'kernel refused route');
  }

  /** a rule or throw write; false when it failed */
  private recordOwnTableOp(op: KernelOp, res: OpResult): boolean {
    // already there (a rule we had not heard of yet) or already gone: what we wanted
    const ok = res.ok
      || (op.kind === 'rule.create' && res.errno === EEXIST)
      || ((op.kind === 'rule.delete' || op.kind === 'throw.delete') && (res.errno === ENOENT || res.errno === ESRCH));
    this.ownTable.recorded(op, ok);
    if (!ok) {
      this.log.warn({ event: 'kernelWriteFailed', op: op.kind, error: res.ok ? '' : res.error, ...opSubject(op) }, 'kernel write failed');
      return false;
    }
    const subject = opSubject(op);
    if (op.kind.startsWith('rule.')) this.log.info({ event: 'ruleWritten', op: op.kind, ...subject }, op.kind);
    else this.log.debug({ event: 'throwWritten', op: op.kind, ...subject }, op.kind);
    return true;
  }

  /** neighbour and nexthop-object writes: what the kernel now holds, and a log line each */
  private recordOps(ops: readonly KernelOp[], results: readonly OpResult[]): number {
    let failed = 0;
    ops.forEach((op, i) => {
      const res = results[i]!;
      if (op.kind.startsWith('rule.') || op.kind.startsWith('throw.')) {
        if (!this.recordOwnTableOp(op, res)) failed++;
        return;
      }
      if (!res.ok) {
        failed++;
        this.log.warn({ event: 'kernelWriteFailed', op: op.kind, error: res.error, ...opSubject(op) }, 'kernel write failed');
        if (op.kind === 'neigh.replace' || op.kind === 'nh.replace') this.needDump = true;
        return;
      }
      switch (op.kind) {
        case 'neigh.replace':
          this.state.notePlaceholder({ ifindex: op.ifindex, gateway: op.gateway, mac: op.mac, state: NUD_PERMANENT, protocol: op.protocol });
          this.log.info({ event: 'neighbourWritten', op: op.kind, ifname: op.ifname, gateway: numberToIpv4(op.gateway), mac: op.mac }, op.kind);
          break;
        case 'neigh.delete':
          this.state.removePlaceholder(op.ifindex, op.gateway);
          this.log.info({ event: 'neighbourWritten', op: op.kind, ifname: op.ifname, gateway: numberToIpv4(op.gateway) }, op.kind);
          break;
        case 'neigh.probe':
          this.log.debug({ event: 'peerProbed', ifname: op.ifname, peer: op.linkLocal }, 'neighbour solicitation requested');
          break;
        case 'nh.replace':
          this.state.nexthops.set(op.nexthop.id, asHeld(op.nexthop));
          this.log.info({ event: 'nexthopWritten', op: op.kind, id: op.nexthop.id }, op.kind);
          break;
        case 'nh.delete':
          this.state.nexthops.delete(op.id);
          this.log.info({ event: 'nexthopWritten', op: op.kind, id: op.id }, op.kind);
          break;
      }
    });
    return failed;
  }
}

function opSubject(op: KernelOp): Record<string, unknown> {
  switch (op.kind) {
    case 'neigh.replace': case 'neigh.delete': case 'neigh.probe': return { ifname: op.ifname };
    case 'nh.delete': return { id: op.id };
    case 'nh.replace': return { id: op.nexthop.id };
    case 'rule.create': case 'rule.delete': return { priority: op.rule.priority, table: op.rule.table };
    case 'throw.create': case 'throw.delete': return { key: `${op.route.table}:${numberToIpv4(op.route.dst)}/${op.route.dstLen}`, metric: op.route.metric };
  }
}
