// One reconcile pass: dump when due, plan the dirty keys (or all), throttle the repairs,
// write in order, record what the kernel answered.
import { isOurs } from '../model/ownership.js';
import type { Config } from '../config/config.js';
import type { Forwardings } from '../kernel/forwardings.js';
import { isLinkUp, isPermanent, type KernelState } from '../kernel/kernel-state.js';
import type { KernelPort } from '../kernel/kernel.js';
import type { RouteLeg } from '../kernel/rtnetlink-codec.js';
import type { Logger } from '../log.js';
import type { PeerTable } from '../peers/peer-table.js';
import { NONE } from '../rib/route-store.js';
import type { Rib } from '../rib/rib.js';
import type { GatewayPool } from './gateway-pool.js';
import type { NexthopObjects } from './nexthop-objects.js';
import type { OwnTable } from './own-table.js';
import { describePlan, draftPlan, orderPlan, type PassPlan } from './pass-plan.js';
import type { Prober } from './prober.js';
import type { RepairThrottle, HeldRepair } from './repair-throttle.js';
import { Resolver } from './resolver.js';
import type { ResolverFindings } from './resolver-findings.js';
import type { PassRecorder } from './results.js';
import { writeRoutes, type RouteWriteContext } from './route-write.js';
import type { PassScheduler, PassWork } from './scheduler.js';

/** Above this many route writes, our own route events would only flood the event socket. */
const QUIET_BATCH = 5000;
/** a pass slower than this is logged at info even when it wrote nothing */
const SLOW_PASS_MS = 100;
/** plan items a debug log line shows */
const PLAN_ITEMS_LOGGED = 50;

export interface PassStats {
  readonly full: boolean;
  readonly keys: number;
  readonly writes: number;
  readonly failed: number;
  readonly durationMs: number;
  /** where the pass's time went: the dump (0 without one), the plan, the writes and their answers */
  readonly dumpMs: number;
  readonly planMs: number;
  readonly writeMs: number;
}

const round1 = (ms: number): number => Math.round(ms * 10) / 10;

export interface PassParts {
  readonly kernel: KernelPort;
  readonly config: Config;
  readonly log: Logger;
  readonly rib: Rib;
  readonly peers: PeerTable;
  readonly state: KernelState;
  readonly forwardings: Forwardings;
  readonly ownTable: OwnTable;
  readonly gateways: GatewayPool;
  readonly nexthopObjects: NexthopObjects | undefined;
  readonly findings: ResolverFindings;
  readonly scheduler: PassScheduler;
  readonly throttle: RepairThrottle;
  readonly prober: Prober;
  readonly recorder: PassRecorder;
  /** the dump, with what the daemon takes from it */
  dump(withMain: boolean): Promise<void>;
  /** the interface matcher (changes on reload) */
  matches(ifname: string): boolean;
  /** whether a route no one wants may be deleted (known since start, or the sweep allowed) */
  mayDelete(slot: number): boolean;
}

export class PassRunner {
  private passes = 0;
  private lastPass: PassStats | undefined;
  private readonly routeWrites: RouteWriteContext;

  constructor(private readonly p: PassParts) {
    const { protocol, metric } = p.config.kernel;
    this.routeWrites = { kernel: p.kernel, store: p.rib.store, forwardings: p.forwardings, protocol, metric };
  }

  stats(): { readonly passes: number; readonly lastPass: PassStats | undefined } {
    return { passes: this.passes, lastPass: this.lastPass };
  }

  async run(): Promise<PassStats> {
    const t0 = performance.now();
    const { scheduler, recorder, log, rib } = this.p;
    const dump = scheduler.takeDump();
    if (dump) await this.p.dump(dump.main);
    const tPlan = performance.now();
    const plan = this.plan(scheduler.takeWork());
    const tWrite = performance.now();
    const debug = log.isLevelEnabled('debug');
    recorder.recordVerdicts(plan, debug);
    const attempted = plan.beforeRoutes.length + plan.routes.length + plan.afterRoutes.length;
    if (debug && (attempted > 0 || plan.held.length > 0)) {
      log.debug({ event: 'passPlan', items: describePlan(plan, (s) => rib.keyOf(s), PLAN_ITEMS_LOGGED) }, 'pass plan');
    }
    const failed = await this.apply(plan, debug);
    recorder.countWrites(attempted, failed);
    scheduler.finishWork();
    this.passes++;
    const t1 = performance.now();
    const stats: PassStats = {
      full: plan.full, keys: plan.verdicts.length, writes: attempted - failed, failed, durationMs: t1 - t0,
      dumpMs: round1(tPlan - t0), planMs: round1(tWrite - tPlan), writeMs: round1(t1 - tWrite),
    };
    this.lastPass = stats;
    // info only when the pass changed the kernel or was slow; neighbour probes (every 3 s for
    // an unresolved peer) and converged resyncs are debug, or they drown everything else
    const probes = plan.afterRoutes.reduce((n, op) => n + (op.kind === 'neigh.probe' ? 1 : 0), 0);
    const notable = attempted - probes > 0 || stats.durationMs > SLOW_PASS_MS;
    if (notable || attempted > 0 || plan.full) {
      log[notable ? 'info' : 'debug']({ event: 'reconcilePass', ...stats, pending: rib.store.pendingCount, desired: rib.size }, 'reconcile pass');
    }
    return stats;
  }

  private plan(work: PassWork): PassPlan {
    const { config, rib, state, gateways, findings, throttle, prober, ownTable, nexthopObjects, forwardings, scheduler } = this.p;
    const store = rib.store;
    const { full } = work;
    const { protocol, metric } = config.kernel;
    const resolver = this.resolver();
    // via mode needs no placeholders; any of ours left from neighbor mode go once unused.
    const viaMode = config.kernel.mode === 'via';
    const draft = draftPlan({
      full,
      neighbours: {
        interfaces: viaMode ? [] : rib.interfaces(),
        resolver,
        observed: state.placeholders,
        protocol,
        ifname: (ifindex) => state.links.get(ifindex)?.name,
        mayDelete: (ifindex, gateway) => state.ownedRoutesVia(ifindex, gateway) === 0,
      },
      // A peer moved to another gateway: routes this pass does not plan still use the old one.
      neighboursPlanned: () => {
        if (!viaMode && gateways.endPass() && !full) scheduler.markAll();
      },
      routes: {
        slots: full ? 'every' : work.queued,
        store,
        nexthopSets: rib.nexthopSets,
        forwardings,
        resolver,
        metric,
        ...(nexthopObjects ? { nexthopIdFor: (legs: readonly RouteLeg[]) => nexthopObjects.idFor(legs) } : {}),
        mayDelete: (s) => this.p.mayDelete(s),
      },
    });
    findings.notePass(resolver, full);
    const held: HeldRepair[] = [];
    const keyOf = (s: number): string => rib.keyOf(s);
    const routes = throttle.routes(draft.routes, keyOf, held);
    const neighbourAdds = throttle.neighbours(draft.neighbours.adds, held);
    const nexthops = nexthopObjects?.plan((id) => forwardings.routesUsing(id));
    const own = full || ownTable.needsPlan ? throttle.ownTable(ownTable.plan((addr, len) => this.holdsOurs(addr, len)), ownTable, held) : undefined;
    const neighbourDeletes = throttle.neighbours(draft.neighbours.deletes, held);
    const probes = viaMode ? [] : prober.plan();
    throttle.endNeighbours();
    return orderPlan(draft, routes, { neighbourAdds, neighbourDeletes, nexthops, ownTable: own, probes }, held);
  }

  /** in order; the number of writes that failed */
  private async apply(plan: PassPlan, debug: boolean): Promise<number> {
    const { kernel, recorder, scheduler } = this.p;
    let failed = 0;
    if (plan.beforeRoutes.length > 0) failed += recorder.recordOps(plan.beforeRoutes, await kernel.apply(plan.beforeRoutes));
    const { routes } = plan;
    if (routes.length > 0) {
      const quiet = routes.length > QUIET_BATCH;
      if (quiet) scheduler.beginBurst();
      try {
        failed += recorder.recordRoutes(routes, await writeRoutes(this.routeWrites, routes), debug);
      } finally {
        if (quiet) scheduler.endBurst();
      }
    }
    if (plan.afterRoutes.length > 0) failed += recorder.recordOps(plan.afterRoutes, await kernel.apply(plan.afterRoutes));
    return failed;
  }

  private resolver(): Resolver {
    const { config, state, rib, peers } = this.p;
    const { protocol } = config.kernel;
    return new Resolver({
      link: (name) => {
        const l = state.linkByName(name);
        return l && { ifindex: l.ifindex, name: l.name, up: isLinkUp(l.flags), managed: this.p.matches(name) };
      },
      peersOn: (ifname) => rib.peersOn(ifname).keys(),
      learntPeersOn: (ifname) => (rib.wantsLearntPeer(ifname) ? peers.learntOn(ifname) : []),
      resolvePeer: (ifname, ll) => peers.resolve(ifname, ll),
      placeholdersOn: (ifindex) => state.placeholdersOn(ifindex).map((n) => ({
        gateway: n.gateway, mac: n.mac, permanent: isPermanent(n.state), ours: isOurs(n, protocol), protocol: n.protocol,
      })),
    }, config.kernel.mode, this.p.gateways);
  }

  /** whether we want or hold a route for this prefix in our table */
  private holdsOurs(addr: number, len: number): boolean {
    const store = this.p.rib.store;
    const s = store.find(this.p.config.kernel.table, addr, len);
    return s >= 0 && (store.desired[s] !== NONE || store.observed[s] !== NONE);
  }
}
