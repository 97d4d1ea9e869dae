// The only writer to the kernel. Level-triggered: events and source updates only mark
// keys dirty; each pass plans from the full desired and observed state of those keys
// (or of everything, after a dump). One pass runs at a time; bursts coalesce.
// This class wires the parts, each with one job: the scheduler (when passes run), kernel
// intake (dumps and events), the pass (plan, write, record), the repair throttle, the
// prober and the results recorder.
import type { Config } from '../config/config.js';
import { Forwardings } from '../kernel/forwardings.js';
import { isLinkUp, KernelState } from '../kernel/kernel-state.js';
import type { KernelPort } from '../kernel/kernel.js';
import type { KernelLink, KernelNeighbour, KernelRoute, KernelRule, NexthopObject } from '../kernel/rtnetlink-codec.js';
import { numberToIpv4 } from '../model/ipv4-prefix.js';
import type { LinkLocal } from '../model/link-local.js';
import type { Logger } from '../log.js';
import { systemClock, type Clock } from '../runtime/clock.js';
import { AsyncObservers, Observers } from '../runtime/observers.js';
import type { PeerTable } from '../peers/peer-table.js';
import { F_KNOWN } from '../rib/route-store.js';
import type { Rib } from '../rib/rib.js';
import { GatewayPool } from './gateway-pool.js';
import { KernelIntake } from './kernel-intake.js';
import { NexthopObjects } from './nexthop-objects.js';
import { OwnTable } from './own-table.js';
import { PassRunner, type PassStats } from './pass.js';
import type { PendingRoute } from './pending-reasons.js';
import { Prober } from './prober.js';
import { RepairThrottle } from './repair-throttle.js';
import { ResolverFindings } from './resolver-findings.js';
import { PassRecorder } from './results.js';
import { PassScheduler } from './scheduler.js';

/** main tables smaller than this are re-read after every big write burst */
const MAIN_REREAD_AFTER_BURST = 50_000;

/** what the reconciler tells status, metrics and the watchdog: a copy, read-only */
export interface ReconcilerStats {
  readonly passes: number;
  readonly writes: number;
  readonly failedWrites: number;
  readonly repairs: number;
  /** repairs waiting for their backoff to end */
  readonly repairsBackedOff: number;
  /** neighbour solicitations asked for unresolved peers */
  readonly probes: number;
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

export class Reconciler {
  readonly forwardings = new Forwardings();
  readonly state: KernelState;
  /** our table's policy rule and throw routes (longest match across it and main) */
  readonly ownTable: OwnTable;
  /** zebra placeholders that disagree with us, ambiguous learnt peers: once per episode */
  readonly findings: ResolverFindings;
  private readonly gateways: GatewayPool;
  private readonly scheduler: PassScheduler;
  private readonly intake: KernelIntake;
  private readonly throttle: RepairThrottle;
  private readonly prober: Prober;
  private readonly recorder: PassRecorder;
  private readonly runner: PassRunner;
  private sweepAllowed = false;
  private matches: (name: string) => boolean;
  /** observers of every pass (metrics) */
  readonly passObservers = new Observers<[stats: PassStats]>();

  constructor(
    kernel: KernelPort,
    private readonly rib: Rib,
    peers: PeerTable,
    config: Config,
    log: Logger,
    matches: (name: string) => boolean,
    clock: Clock = systemClock,
  ) {
    this.matches = matches;
    const store = rib.store;
    const { table, protocol, metric, rulePriority } = config.kernel;
    this.findings = new ResolverFindings(log);
    this.state = new KernelState(store, this.forwardings, metric);
    const { first, size, text } = config.kernel.gatewayPool;
    this.gateways = new GatewayPool(first, size, text);
    const nexthopObjects = config.kernel.nexthopObjects ? new NexthopObjects(protocol, this.state.nexthops) : undefined;
    const ownTable = (this.ownTable = new OwnTable({ table, protocol, metric, rulePriority }));
    const scheduler = (this.scheduler = new PassScheduler(store, clock, log, {
      pass: () => this.pass(),
      otherWork: () => ownTable.needsPlan,
      routeEvents: (on) => kernel.setRouteEvents(on),
      mainRereadAfterBurst: () => ownTable.main.size < MAIN_REREAD_AFTER_BURST,
    }));
    this.throttle = new RepairThrottle(clock, log, {
      route: (s) => {
        if (store.isLive(s)) this.markDrift(s);
      },
      neighbour: (ifindex) => this.markNeighbourDrift(ifindex),
      ownTable: () => {
        ownTable.markDirty();
        scheduler.poke();
      },
    });
    this.intake = new KernelIntake({
      kernel, config, log, store, state: this.state, forwardings: this.forwardings, ownTable, gateways: this.gateways, nexthopObjects,
      work: {
        drifted: (s) => this.markDrift(s),
        markAll: () => scheduler.markAll(),
        requestDump: () => scheduler.requestDump(),
        schedule: () => scheduler.poke(),
      },
    });
    const state = this.state;
    this.prober = new Prober(clock, {
      interfaces: () => rib.interfaces(),
      usableLink: (ifname) => {
        const link = state.linkByName(ifname);
        return link && isLinkUp(link.flags) && this.matches(ifname) ? link.ifindex : undefined;
      },
      peersOn: (ifname) => rib.peersOn(ifname).keys(),
      resolved: (ifname, ll) => peers.resolve(ifname, ll).resolved,
    }, () => scheduler.markNeighbours());
    this.recorder = new PassRecorder({
      store, keyOf: (s) => rib.keyOf(s), state, ownTable, table, metric, log, requestDump: () => scheduler.requestDump(),
    });
    this.runner = new PassRunner({
      kernel, config, log, rib, peers, state, forwardings: this.forwardings, ownTable, gateways: this.gateways, nexthopObjects,
      findings: this.findings, scheduler, throttle: this.throttle, prober: this.prober, recorder: this.recorder,
      dump: (withMain) => this.dump(withMain),
      matches: (name) => this.matches(name),
      mayDelete: (s) => this.sweepAllowed || (store.flags[s]! & F_KNOWN) !== 0,
    });
  }

  // ---- what the kernel tells us ----

  /** The kernel changed a route of ours (an event): re-check it; a write that follows is a repair. */
  noteKernelRoute(change: 'new' | 'del', r: KernelRoute): void {
    this.intake.noteRoute(change, r);
  }

  /** A policy rule changed (anyone's): ours is re-created if it went. */
  noteKernelRule(change: 'new' | 'del', r: KernelRule): void {
    this.intake.noteRule(change, r);
  }

  /** A nexthop object changed under us: re-plan everything. */
  noteKernelNexthop(change: 'new' | 'del', nh: NexthopObject): void {
    this.intake.noteNexthop(change, nh);
  }

  /** A placeholder neighbour changed on `ifindex`: the neighbour plan runs in every pass. */
  markNeighbourDrift(ifindex: number): void {
    this.throttle.noteNeighbourDrift(ifindex);
    this.scheduler.markNeighbours();
  }

  /** whether a neighbour entry is at one of our placeholder addresses (whoever wrote it) */
  isPlaceholder(n: KernelNeighbour): boolean {
    return this.intake.isPlaceholder(n);
  }

  // ---- what the sources and the daemon ask for ----

  /** A RIB slot changed: it is ours to delete from now on, even before the sweep. */
  markDesiredChanged(slot: number): void {
    this.intake.claim(slot);
    this.scheduler.markDirty(slot);
  }

  /** Re-plan everything from what we hold (peers or links changed). */
  markAllDirty(): void {
    this.scheduler.markAll();
  }

  /** Dump the kernel, then re-plan everything (start-up, overrun, link changes, timer). */
  requestResync(): void {
    this.scheduler.requestResync();
  }

  /** A reload changed `interfaces`: re-plan everything under the new matcher. */
  setInterfaceMatcher(matches: (name: string) => boolean): void {
    this.matches = matches;
    this.markAllDirty();
  }

  /** Sources have synced (or the stale timer fired): owned leftovers may now be swept. */
  allowSweep(): void {
    if (this.sweepAllowed) return;
    this.sweepAllowed = true;
    this.markAllDirty();
  }

  /** graceful.withdraw-on-exit: the rule goes with the routes */
  releaseRule(): void {
    this.ownTable.releaseRule();
    this.scheduler.poke();
  }

  /** Resolves when no pass is running or scheduled. */
  idle(): Promise<void> {
    return this.scheduler.idle();
  }

  stop(): void {
    this.prober.stop();
    this.scheduler.stop();
  }

  // ---- what status, metrics and the watchdog read ----

  get sweeping(): boolean {
    return this.sweepAllowed;
  }

  /** desired routes that are not in the kernel */
  get pendingCount(): number {
    return this.rib.store.pendingCount;
  }

  /** why the route at a slot is not in the kernel; undefined when it is (or is not desired) */
  pendingAt(slot: number): PendingRoute | undefined {
    return this.recorder.pendingAt(slot);
  }

  /** the placeholder that stands for a peer (neighbor mode), as text */
  placeholderOf(ifname: string, linkLocal: LinkLocal): string | undefined {
    // via mode numbers no peer: the pool stays empty there
    const link = this.state.linkByName(ifname);
    const g = link && this.gateways.gatewayOf(link.ifindex, linkLocal);
    return g === undefined ? undefined : numberToIpv4(g);
  }

  get passes(): number {
    return this.runner.stats().passes;
  }

  get lastPass(): PassStats | undefined {
    return this.runner.stats().lastPass;
  }

  get writes(): number {
    return this.recorder.stats().writes;
  }

  get failedWrites(): number {
    return this.recorder.stats().failedWrites;
  }

  get repairs(): number {
    return this.throttle.stats().repairs;
  }

  /** routes of our protocol seen in tables we do not own at the last dump */
  get foreignRoutes(): number {
    return this.intake.stats().foreignRoutes;
  }

  stats(): ReconcilerStats {
    const throttle = this.throttle.stats();
    return {
      ...this.runner.stats(),
      ...this.recorder.stats(),
      ...this.scheduler.stats(),
      ...this.intake.stats(),
      ...this.prober.stats(),
      repairs: throttle.repairs,
      repairsBackedOff: throttle.backedOff,
      sweeping: this.sweepAllowed,
    };
  }

  private markDrift(slot: number): void {
    this.throttle.noteRouteDrift(slot);
    this.scheduler.markDirty(slot);
  }

  private async pass(): Promise<void> {
    const stats = await this.runner.run();
    this.passObservers.notify(stats);
  }

  private async dump(withMain: boolean): Promise<void> {
    const { links, neighbours } = await this.intake.dump(withMain);
    // awaited: a source reading kernel tables (sources.kernel.tables) replays here, before the plan
    await this.dumpObservers.notify(links, neighbours);
  }

  /** lets the daemon take what a dump shows besides our state: VRF tables, peer evidence, source tables */
  readonly dumpObservers = new AsyncObservers<[links: readonly KernelLink[], neighbours: readonly KernelNeighbour[]]>();
}
