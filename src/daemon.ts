import { setPriority as osSetPriority } from 'node:os';
// Composition: config, kernel port, RIB, peers, reconciler, sources, timers. Each part does
// its own job (link-events.ts, peer-evidence.ts, source-set.ts, control-answers.ts,
// withdraw-on-exit.ts); this file only builds them, hands each the others it needs, and
// combines their stats() into status().
import { release } from 'node:os';
import type { Config } from './config/config.js';
import { managesInterface } from './config/config.js';
import { reloadConfig, type ConfigChanges } from './config/config-diff.js';
import { isLinkUp } from './kernel/kernel-state.js';
import { NetlinkKernel, type KernelPort } from './kernel/kernel.js';
import { checkKernelMode } from './kernel/kernel-version.js';
import { LinkEvents } from './links/link-events.js';
import type { Logger } from './log.js';
import { isOurs } from './model/ownership.js';
import type { TableNames } from './model/route-table.js';
import { PeerEvidence } from './peers/peer-evidence.js';
import { PeerTable } from './peers/peer-table.js';
import { RaListener } from './ra/ra-listener.js';
import { Reconciler } from './reconcile/reconciler.js';
import type { PassStats } from './reconcile/pass.js';
import { resyncNow } from './reconcile/resync-now.js';
import { ownedPlaceholders, withdrawEverything } from './reconcile/withdraw-on-exit.js';
import { Rib } from './rib/rib.js';
import { RoutePolicy } from './rib/route-policy.js';
import { F_DIRTY } from './rib/route-store.js';
import { VrfRoutes } from './rib/vrf-routes.js';
import { systemClock, type Clock, type Timer } from './runtime/clock.js';
import { fullCollection, heapBytes, ReleasePolicy } from './runtime/garbage-release.js';
import { createSources, sourcesStats, warnIfSharedWithZebra, type Sources } from './sources/source-factory.js';
import { SourceSet } from './sources/source-set.js';
import { answerControl } from './status/control-answers.js';
import { ControlServer } from './status/control-server.js';
import type { DaemonStats } from './status/daemon-stats.js';
import type { ListingView } from './status/daemon-view.js';
import type { DryRun } from './dry-run/dry-run.js';

export interface DaemonDeps {
  readonly config: Config;
  readonly log: Logger;
  readonly tables: TableNames;
  readonly kernel?: KernelPort;
  /** every timer and timestamp (a ManualClock in tests) */
  readonly clock?: Clock;
  readonly version?: string;
  /** `run --dry-run`: `kernel` is its fake; no router solicitations; the control socket answers `plan` */
  readonly dryRun?: DryRun;
}

export class Daemon {
  private readonly rib = new Rib();
  private readonly peers = new PeerTable();
  private readonly reconciler: Reconciler;
  private readonly kernel: KernelPort;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly evidence: PeerEvidence;
  private readonly links: LinkEvents;
  private readonly sources: Sources;
  private readonly sourceSet: SourceSet;
  private ra: RaListener | undefined;
  private control: ControlServer | undefined;
  private startedAtMs = 0;
  private resyncTimer: Timer | undefined;
  private manages: (name: string) => boolean;
  /** the running configuration: live sections follow reloads, the rest stay as started */
  private config: Config;
  /** pino children copy their level when made: kept, so a reload reaches each */
  private readonly loggers: Logger[] = [];
  private readonly reloads = { applied: 0, failed: 0 };
  private netlinkOverruns = 0;
  /** what `routes` and `peers` list */
  readonly listings: ListingView;

  constructor(private readonly deps: DaemonDeps) {
    const { config, log } = deps;
    this.config = config;
    this.log = log;
    this.loggers.push(log);
    this.clock = deps.clock ?? systemClock;
    this.kernel = deps.kernel ?? new NetlinkKernel(config.kernel.netlinkBatch, config.kernel.eventBufferBytes, config.kernel.nexthopObjects);
    // EXPERIMENT (not for commit)
    if (process.env.RFC5549D_MAIN_NICE) { try { osSetPriority(0, Number(process.env.RFC5549D_MAIN_NICE)); } catch (e) { console.error('nice failed', e); } }
    this.manages = managesInterface(config);
    const rc = new Reconciler(this.kernel, this.rib, this.peers, config, this.childLog('reconciler'), this.manages, this.clock);
    this.reconciler = rc;
    this.rib.changes.add((slot) => rc.markDesiredChanged(slot));
    this.releaseGarbageAfterPasses(rc);
    this.rib.setPolicy(new RoutePolicy(config.filters, config.limits.maxRoutes, config.limits.maxLegs));
    const ifname = (ifindex: number): string | undefined => rc.state.links.get(ifindex)?.name;
    this.evidence = new PeerEvidence({
      peers: this.peers, demand: this.rib, clock: this.clock, log: this.log,
      managedName: (ifindex) => {
        const name = ifname(ifindex);
        return name !== undefined && this.manages(name) ? name : undefined;
      },
      peerChanged: () => rc.markAllDirty(),
      recheckNeighbour: (ifindex) => rc.markNeighbourDrift(ifindex),
    });
    const vrfRoutes = new VrfRoutes();
    this.links = new LinkEvents({
      reconciler: rc, rib: this.rib, vrfRoutes, evidence: this.evidence, log: this.log,
      manages: (name) => this.manages(name),
      linkCameUp: (ifindex, mac) => {
        if (!this.config.ra.solicitOnLinkUp || !this.ra) return;
        if (this.deps.dryRun) this.log.info({ event: 'dryRunNoSolicit', ifindex }, 'dry run: no router solicitation sent on link up');
        else this.ra.solicit(ifindex, mac);
      },
    });
    this.sources = createSources({
      config, tables: deps.tables, rib: this.rib, vrfRoutes, clock: this.clock, log: (c) => this.childLog(c), ifname,
      vrfTable: (name) => this.links.vrfTable(name), needDump: () => rc.requestResync(),
    });
    // Built now: the kernel-table source syncs in the first dump, before the others start.
    this.sourceSet = new SourceSet(this.sources.all, { clock: this.clock, staleTimeMs: config.graceful.staleTimeMs, log: this.log, onReady: () => rc.allowSweep() });
    rc.dumpObservers.add(async (links, neighbours) => {
      this.links.dumped(links, neighbours);
      // every dump replays the source tables: what vanished while events were lost goes
      await this.sources.kernelTables?.dump(this.kernel);
    });
    this.listings = {
      rib: this.rib, peers: this.peers, reconciler: rc, fpm: this.sources.fpm,
      lastRaAt: (i, ll) => this.evidence.lastRaAt(i, ll),
    };
  }

  /** Subscribe, then dump, then open the sources (never prune before ready). */
  async start(): Promise<void> {
    const { config } = this.deps;
    const rc = this.reconciler;
    checkKernelMode(config.kernel.mode, release(), config.kernel.nexthopObjects);
    this.startedAtMs = this.clock.now();
    const kernelTables = this.sources.kernelTables;
    this.kernel.subscribe({
      link: (change, l) => this.links.onLink(change, l),
      neighbour: (change, n) => this.links.onNeighbour(change, n),
      // ours, and main's (a more specific route there needs a throw in our table); a source
      // table's routes of other protocols are routes offered to us
      route: (change, r) => {
        rc.noteKernelRoute(change, r);
        if (!isOurs(r, config.kernel.protocol) && kernelTables?.covers(r.table)) kernelTables.noteRoute(change, r);
      },
      nexthop: (change, nh) => rc.noteKernelNexthop(change, nh),
      rule: (change, r) => rc.noteKernelRule(change, r),
      overrun: () => {
        this.netlinkOverruns++;
        this.log.warn({ event: 'netlinkOverrun' }, 'netlink events lost (ENOBUFS); resyncing from a dump');
        rc.requestResync();
      },
      error: (err) => this.log.error({ event: 'netlinkError', err }, 'netlink event error'),
    });
    if (config.ra.enabled) this.startRa();
    rc.requestResync();
    await rc.idle();
    const s = rc.stats();
    this.log.info({ event: 'kernelDumped', links: rc.state.links.size, ownedRoutes: s.ownedRoutes, placeholders: s.placeholders }, 'kernel state dumped');
    warnIfSharedWithZebra(config, this.log);
    await this.sourceSet.start();
    this.control = new ControlServer(config.control.socket, (req) => answerControl(this, req), this.childLog('control'));
    await this.control.start();
    this.armResync();
    this.log.info({ event: 'ready' }, 'rfc5549d ready');
  }

  private startRa(): void {
    const rc = this.reconciler;
    this.ra = new RaListener(
      (ev) => this.evidence.noteRouterAdvert(ev),
      (err, ifindex) => {
        const ifname = ifindex === undefined ? undefined : rc.state.links.get(ifindex)?.name ?? `#${ifindex}`;
        this.log.warn({ event: 'raError', ...(ifname === undefined ? {} : { ifname }), err },
          ifname === undefined ? 'router advertisement listener error' : `router advertisement listener error on ${ifname}`);
      },
      { clock: this.clock },
    );
    this.ra.start();
  }

  /** a big pass's garbage is collected once nothing more is queued (see garbage-release.ts) */
  private releaseGarbageAfterPasses(rc: Reconciler): void {
    const policy = new ReleasePolicy();
    const collect = fullCollection();
    let deferred = false;
    const release = (): void => {
      const before = heapBytes();
      const t0 = performance.now();
      collect();
      const after = heapBytes();
      policy.collected(after);
      this.log.debug({ event: 'garbageReleased', beforeMb: Math.round(before / 2 ** 20), afterMb: Math.round(after / 2 ** 20), durationMs: Math.round(performance.now() - t0) }, 'collected the garbage of a big pass');
    };
    rc.passObservers.add((stats) => {
      if (deferred || !policy.shouldCollect(heapBytes(), () => !this.rib.store.anyFlagged(F_DIRTY))) return;
      // After writes, at once: the state the pass leaves (status) then comes with the memory
      // it holds. After a pass that only read (a converged resync's dump), once its answer is
      // out: the resync is not made to wait 30-45 ms for the clean-up.
      if (stats.writes > 0) return release();
      deferred = true;
      this.clock.setTimeout(() => {
        deferred = false;
        release();
      }, 0);
    });
  }

  private childLog(component: string): Logger {
    const child = this.log.child({ component });
    this.loggers.push(child);
    return child;
  }

  /** The periodic full resync (the safety net), and the peer table's clean-up with it. */
  private armResync(): void {
    this.resyncTimer?.cancel();
    this.resyncTimer = this.clock.setTimeout(() => {
      this.reconciler.requestResync();
      this.evidence.forgetIdle();
      this.armResync();
    }, this.config.reconcile.resyncIntervalMs);
  }

  /**
   * Takes the live sections of a new configuration (log level, interfaces, limits, filters,
   * withdraw-on-exit, resync interval); the others keep their running values until a restart.
   */
  reload(next: Config): ConfigChanges {
    const { config, changes } = reloadConfig(this.config, next);
    this.config = config;
    if (changes.live.includes('log.level')) for (const l of this.loggers) l.level = next.logLevel;
    if (changes.live.includes('interfaces')) {
      this.manages = managesInterface(this.config);
      this.reconciler.setInterfaceMatcher(this.manages);
    }
    if (changes.live.includes('limits') || changes.live.includes('filters')) {
      const withdrawn = this.rib.setPolicy(new RoutePolicy(next.filters, next.limits.maxRoutes, next.limits.maxLegs));
      if (withdrawn > 0) this.log.warn({ event: 'filteredOnReload', withdrawn }, 'routes the new filters reject are withdrawn');
    }
    if (changes.live.includes('reconcile.resync-interval')) this.armResync();
    this.reloads.applied++;
    return changes;
  }

  /** a reload that did not apply (the file did not load or validate): counted for metrics */
  reloadFailed(): void {
    this.reloads.failed++;
  }

  get withdrawOnExit(): boolean {
    return this.config.graceful.withdrawOnExit;
  }

  /** observes every reconcile pass (the metrics' duration histogram) */
  onPass(observer: (stats: PassStats) => void): () => void {
    return this.reconciler.passObservers.add(observer);
  }

  /**
   * Stops sources and timers and closes the kernel port. Routes stay in place for the next
   * start unless `withdraw` (graceful.withdraw-on-exit): then every owned route and
   * placeholder is removed first. Returns what is still owned in the kernel.
   */
  async stop(withdraw = false): Promise<{ routes: number; placeholders: number }> {
    this.resyncTimer?.cancel();
    // the kernel-table source too: its dumps would re-add what the source tables hold, undoing withdraw-on-exit
    this.sourceSet.stop();
    this.control?.stop();
    this.ra?.stop();
    await this.reconciler.idle();
    const protocol = this.config.kernel.protocol;
    if (withdraw) await withdrawEverything(this.rib, this.reconciler, protocol, this.log);
    const left = { routes: this.reconciler.state.ownedRouteCount, placeholders: ownedPlaceholders(this.reconciler, protocol) };
    this.reconciler.stop();
    await this.kernel.close();
    return left;
  }

  /** Every part's stats, combined: what status, metrics and the service read. */
  status(): DaemonStats {
    const rc = this.reconciler;
    const own = rc.ownTable;
    return {
      version: this.deps.version ?? '0.0.0',
      startedAtMs: this.startedAtMs,
      nowMs: this.clock.now(),
      rib: this.rib.stats(),
      reconciler: rc.stats(),
      table: { id: own.table, rulePriority: own.rulePriority, keepsRule: own.keepsRule, ruleInstalled: own.ruleInstalled, throwRoutes: own.throwCount },
      links: [...rc.state.links.values()].map((l) => ({ name: l.name, ifindex: l.ifindex, up: isLinkUp(l.flags) })).sort((a, b) => a.ifindex - b.ifindex),
      sources: sourcesStats(this.sources, this.sourceSet.ready),
      ra: this.ra?.stats(),
      peers: this.evidence.stats(),
      control: this.control?.stats() ?? { requests: 0, errors: 0 },
      reloads: { ...this.reloads },
      netlinkOverruns: this.netlinkOverruns,
      dryRun: this.deps.dryRun !== undefined,
    };
  }

  /** Dump and compare everything now; answers with the full pass it took. */
  resync(): Promise<unknown> {
    return resyncNow(this.reconciler, this.rib);
  }

  plan(): Promise<unknown> {
    const rc = this.reconciler;
    if (!this.deps.dryRun) return Promise.resolve({ error: 'plan: this daemon writes to the kernel; plan answers only a daemon started with rfc5549d run --dry-run' });
    return this.deps.dryRun.plan({ listings: this.listings, idle: () => rc.idle(), sweeping: () => rc.stats().sweeping });
  }
}
