// Wiring: config, kernel port, RIB, peers, reconciler, sources, timers and signals.
import { release } from 'node:os';
import type { Config } from './config/config.js';
import { ConfigError, FRR_OWN_PROTOCOLS, managesInterface } from './config/config.js';
import { diffConfig, type ConfigChanges } from './config/config-diff.js';
import { isLinkUp } from './kernel/kernel-state.js';
import { NetlinkKernel, type KernelPort } from './kernel/kernel.js';
import { checkKernelMode } from './kernel/kernel-version.js';
import { AF_INET6, NUD_FAILED, NUD_INCOMPLETE, type KernelLink, type KernelNeighbour } from './kernel/rtnetlink-codec.js';
import type { Logger } from './log.js';
import { systemClock, type Clock } from './runtime/clock.js';
import { isLinkLocalBytes, linkLocalFromBytes, type LinkLocal } from './model/link-local.js';
import { isUnicastMac, macFromBytes, type Mac } from './model/mac.js';
import type { TableNames } from './model/route-table.js';
import { peerKey, PeerTable } from './peers/peer-table.js';
import { RoutePolicy } from './rib/route-policy.js';
import { RaListener, type RouterAdvertEvent } from './ra/ra-listener.js';
import { Reconciler } from './reconcile/reconciler.js';
import { Rib } from './rib/rib.js';
import { MAX_VIA_LEGS } from './rib/route-validation.js';
import { VrfRoutes } from './rib/vrf-routes.js';
import { FpmSource } from './sources/fpm/fpm-server.js';
import { GobgpSource } from './sources/gobgp/gobgp-source.js';
import { KERNEL_TABLE_SOURCE, KernelTableSource } from './sources/kernel-table/kernel-table-source.js';
import { ControlServer } from './status/control-server.js';
import { daemonStatus, peerStatuses, routeStatuses } from './status/snapshot.js';
import { JsonlSource } from './sources/jsonl-server.js';
import { excerpt } from './excerpt.js';
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
  readonly rib = new Rib();
  /** routes the JSON-lines source placed by VRF name, to follow their VRF's table */
  private readonly vrfRoutes = new VrfRoutes();
  readonly peers = new PeerTable();
  readonly reconciler: Reconciler;
  private readonly kernel: KernelPort;
  private readonly log: Logger;
  private jsonl: JsonlSource | undefined;
  private control: ControlServer | undefined;
  private startedAtMs = 0;
  fpm: FpmSource | undefined;
  gobgp: GobgpSource | undefined;
  kernelTables: KernelTableSource | undefined;
  /** enabled sources that have not finished their first replay */
  private readonly unsynced = new Set<string>();
  private ra: RaListener | undefined;
  /** when the last router advertisement came from each peer (status, issue 6) */
  readonly lastRaAt = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  private readonly clock: Clock;
  private readonly now: () => number;
  private manages: (name: string) => boolean;
  /** the running configuration: live sections follow reloads, the rest stay as started */
  private config: Config;
  private readonly loggers: Logger[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  reloads = { applied: 0, failed: 0 };
  netlinkOverruns = 0;

  constructor(private readonly deps: DaemonDeps) {
    const { config, log } = deps;
    this.config = config;
    this.log = log;
    this.loggers.push(log);
    this.clock = deps.clock ?? systemClock;
    this.now = () => this.clock.now();
    this.kernel = deps.kernel ?? new NetlinkKernel(config.kernel.netlinkBatch, config.kernel.eventBufferBytes, config.kernel.nexthopObjects);
    this.manages = managesInterface(config);
    this.reconciler = new Reconciler(this.kernel, this.rib, this.peers, config, this.childLog('reconciler'), this.manages, this.clock);
    this.rib.onChange = (slot) => this.reconciler.markDesiredChanged(slot);
    this.rib.setPolicy(new RoutePolicy(config.filters, config.limits.maxRoutes, config.limits.maxLegs));
    this.reconciler.onDumped = async (links, neighbours) => {
      // a VRF re-created while events were lost (an overrun) is followed here
      for (const l of links) if (l.vrfTable !== undefined) this.followVrf(l.name, l.vrfTable);
      for (const n of neighbours) this.notePeerEvidence(n);
      // every dump replays the source tables: what vanished while events were lost goes
      if (this.kernelTables) await this.kernelTables.dump(this.kernel);
    };
  }

  /** Subscribe, then dump, then open the sources (never prune before ready). */
  async start(): Promise<void> {
    const { config } = this.deps;
    checkKernelMode(config.kernel.mode, release(), config.kernel.nexthopObjects);
    this.startedAtMs = this.now();
    this.kernel.subscribe({
      link: (change, l) => this.onLink(change, l),
      neighbour: (change, n) => this.onNeighbour(change, n),
      // ours, and main's (a more specific route there needs a throw in our table); a source
      // table's routes of other protocols are routes offered to us
      route: (change, r) => {
        this.reconciler.noteKernelRoute(change, r);
        if (r.protocol !== config.kernel.protocol && this.kernelTables?.covers(r.table)) this.kernelTables.noteRoute(change, r);
      },
      nexthop: (change, nh) => this.reconciler.noteKernelNexthop(change, nh),
      rule: (change, r) => this.reconciler.noteKernelRule(change, r),
      overrun: () => {
        this.netlinkOverruns++;
        this.log.warn({ event: 'netlinkOverrun' }, 'netlink events lost (ENOBUFS); resyncing from a dump');
        this.reconciler.requestResync();
      },
      error: (err) => this.log.error({ event: 'netlinkError', err }, 'netlink event error'),
    });
    if (config.ra.enabled) {
      this.ra = new RaListener(
        (ev) => this.onRouterAdvert(ev),
        (err, ifindex) => {
          const ifname = ifindex === undefined ? undefined : this.reconciler.state.links.get(ifindex)?.name ?? `#${ifindex}`;
          this.log.warn({ event: 'raError', ...(ifname === undefined ? {} : { ifname }), err },
            ifname === undefined ? 'router advertisement listener error' : `router advertisement listener error on ${ifname}`);
        },
      );
      this.ra.start();
    }
    // Every enabled source is counted before the first dump: the kernel-table source syncs in it.
    if (config.sources.jsonl.enabled) this.unsynced.add('jsonl');
    if (config.sources.fpm.enabled) this.unsynced.add('fpm');
    if (config.sources.gobgp.enabled) this.unsynced.add('gobgp');
    if (config.sources.kernel.tables.length > 0) {
      this.unsynced.add(KERNEL_TABLE_SOURCE);
      this.kernelTables = new KernelTableSource(
        {
          tables: config.sources.kernel.tables,
          destTable: config.kernel.table,
          ownProtocol: config.kernel.protocol,
          ifname: (ifindex) => this.reconciler.state.links.get(ifindex)?.name,
        },
        this.rib,
        this.childLog(KERNEL_TABLE_SOURCE),
      );
      this.kernelTables.onSynced = () => this.sourceSynced(KERNEL_TABLE_SOURCE);
      this.kernelTables.onNeedDump = () => this.reconciler.requestResync();
    }
    this.reconciler.requestResync();
    await this.reconciler.idle();
    const s = this.reconciler.state;
    this.log.info({ event: 'kernelDumped', links: s.links.size, ownedRoutes: s.ownedRouteCount, placeholders: s.placeholders.size }, 'kernel state dumped');

    if (config.sources.fpm.enabled && FRR_OWN_PROTOCOLS.has(config.kernel.protocol)) {
      // In main (254) this is refused at start (zebraConflicts); in another table zebra only
      // sweeps and adopts if it ever writes there (a VRF's table, say): worth a warning.
      this.log.warn({ event: 'protocolSharedWithZebra', protocol: config.kernel.protocol, table: config.kernel.table },
        'kernel.protocol is one zebra treats as its own: should zebra ever write this table it deletes our routes when it starts and adopts them; choose a protocol FRR does not use (200, say)');
    }
    if (config.sources.fpm.enabled) {
      const f = config.sources.fpm;
      this.fpm = new FpmSource(
        {
          host: f.host,
          port: f.port,
          protocols: new Set(f.protocols),
          mainTable: config.kernel.table,
          settleTimeMs: f.settleTimeMs,
          withdrawHoldMs: f.withdrawHoldMs,
          staleTimeMs: config.graceful.staleTimeMs,
          allowReplace: f.allowReplace,
          ifname: (ifindex) => this.reconciler.state.links.get(ifindex)?.name,
        },
        this.rib,
        this.childLog('fpm'),
      );
      this.fpm.onSynced = () => this.sourceSynced('fpm');
      await this.fpm.start();
    }
    if (config.sources.gobgp.enabled) {
      const g = config.sources.gobgp;
      this.gobgp = new GobgpSource(
        {
          address: g.address,
          table: config.kernel.table,
          staleTimeMs: config.graceful.staleTimeMs,
          maxMessageBytes: g.maxMessageBytes,
          maxPaths: g.maxPaths,
          reconnectMaxMs: g.reconnectMaxMs,
        },
        this.rib,
        this.childLog('gobgp'),
      );
      this.gobgp.onSynced = () => this.sourceSynced('gobgp');
      this.gobgp.start();
    }
    if (config.sources.jsonl.enabled) {
      this.jsonl = new JsonlSource(
        {
          socket: config.sources.jsonl.socket,
          withdrawOnDisconnect: config.sources.jsonl.withdrawOnDisconnect,
          maxLineBytes: config.sources.jsonl.maxLineBytes,
          context: { defaultTable: config.kernel.table, tables: this.deps.tables, vrfTable: (name) => this.vrfTable(name) },
          vrfRoutes: this.vrfRoutes,
        },
        this.rib,
        this.childLog('jsonl'),
      );
      this.jsonl.onSynced = () => this.sourceSynced('jsonl');
      await this.jsonl.start();
    }
    if (this.unsynced.size === 0) {
      this.sourcesSynced('no sources enabled');
    } else {
      const stale = setTimeout(() => this.sourcesSynced('graceful.stale-time elapsed'), config.graceful.staleTimeMs);
      stale.unref();
      this.timers.push(stale);
    }
    this.control = new ControlServer(config.control.socket, (req) => this.answer(req), this.childLog('control'));
    await this.control.start();
    this.armResync();
    this.log.info({ event: 'ready' }, 'rfc5549d ready');
  }

  /** pino children copy their level when made: keep them all, so a reload reaches each */
  private childLog(component: string): Logger {
    const child = this.log.child({ component });
    this.loggers.push(child);
    return child;
  }

  private armResync(): void {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.resyncTimer = setInterval(() => this.reconciler.requestResync(), this.config.reconcile.resyncIntervalMs);
    this.resyncTimer.unref();
  }

  /**
   * Takes the live sections of a new configuration (log level, interfaces, limits, filters,
   * withdraw-on-exit, resync interval); the others keep their running values until a restart.
   */
  reload(next: Config): ConfigChanges {
    const running = this.config;
    // limits apply now but kernel.mode only at a restart: check the new limit against the running mode
    if (running.kernel.mode === 'via' && next.limits.maxLegs > MAX_VIA_LEGS) {
      throw new ConfigError('reload', [{ path: 'limits.max-legs', value: next.limits.maxLegs,
        message: `at most ${MAX_VIA_LEGS} while the running kernel.mode is via (a mode change waits for a restart): a longer RTA_VIA route is left out of kernel dumps` }]);
    }
    const changes = diffConfig(running, next);
    this.config = {
      ...running,
      logLevel: next.logLevel,
      interfaces: next.interfaces,
      limits: next.limits,
      filters: next.filters,
      graceful: { ...running.graceful, withdrawOnExit: next.graceful.withdrawOnExit },
      reconcile: next.reconcile,
    };
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

  get withdrawOnExit(): boolean {
    return this.config.graceful.withdrawOnExit;
  }

  /**
   * Stops sources and timers and closes the kernel port. Routes stay in place for the next
   * start unless `withdraw` (graceful.withdraw-on-exit): then every owned route and
   * placeholder is removed first. Returns what is still owned in the kernel.
   */
  async stop(withdraw = false): Promise<{ routes: number; placeholders: number }> {
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.jsonl?.stop();
    this.fpm?.stop();
    this.gobgp?.stop();
    this.control?.stop();
    this.ra?.stop();
    // Its dumps would re-add what the source tables hold, undoing withdraw-on-exit.
    this.kernelTables = undefined;
    await this.reconciler.idle();
    if (withdraw) await this.withdrawEverything();
    const left = { routes: this.reconciler.state.ownedRouteCount, placeholders: this.ownedPlaceholders() };
    this.reconciler.stop();
    await this.kernel.close();
    return left;
  }

  private async withdrawEverything(): Promise<void> {
    const n = this.rib.withdrawSessions(() => true);
    this.reconciler.allowSweep();
    this.reconciler.releaseRule();
    // Routes go first; the placeholders they used, and the throws inside them, in the pass after (never a stranded route).
    const own = this.reconciler.ownTable;
    for (let i = 0; i < 4; i++) {
      this.reconciler.requestResync();
      await this.reconciler.idle();
      if (this.reconciler.state.ownedRouteCount === 0 && this.ownedPlaceholders() === 0 && own.throwCount === 0 && own.ruleCount === 0) break;
    }
    this.log.info({ event: 'withdrawnOnExit', routes: n }, 'graceful.withdraw-on-exit: owned routes and placeholders removed');
  }

  private ownedPlaceholders(): number {
    let n = 0;
    for (const p of this.reconciler.state.placeholders.values()) if (p.protocol === this.config.kernel.protocol) n++;
    return n;
  }

  get jsonlSource(): JsonlSource | undefined {
    return this.jsonl;
  }

  get raListener(): RaListener | undefined {
    return this.ra;
  }

  sourceStatus(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (this.jsonl) out.jsonl = { ...this.jsonl.counters, queuedReplyBytes: this.jsonl.queuedReplyBytes, synced: !this.unsynced.has('jsonl') };
    if (this.fpm) out.fpm = { ...this.fpm.status(), synced: !this.unsynced.has('fpm') };
    if (this.gobgp) out.gobgp = { ...this.gobgp.status(), synced: !this.unsynced.has('gobgp') };
    if (this.kernelTables) out[KERNEL_TABLE_SOURCE] = { ...this.kernelTables.status(), synced: !this.unsynced.has(KERNEL_TABLE_SOURCE) };
    if (this.ra) out.ra = this.ra.counters;
    return out;
  }

  private answer(req: { command: string; pending?: boolean }): unknown {
    switch (req.command) {
      case 'status': {
        const s = daemonStatus(this, this.deps.version ?? '0.0.0', this.startedAtMs, this.now());
        return this.deps.dryRun ? { ...s, dryRun: true } : s;
      }
      case 'plan':
        return this.deps.dryRun?.plan(this) ?? { error: 'plan: this daemon writes to the kernel; plan answers only a daemon started with rfc5549d run --dry-run' };
      case 'routes':
        return routeStatuses(this, req.pending === true);
      case 'peers':
        return peerStatuses(this, this.now());
      case 'resync':
        return this.resyncNow();
      default:
        return { error: `command: unknown command ${excerpt(req.command)} (status, routes, peers, resync, plan)` };
    }
  }

  /** Dump and compare everything now; answers with the full pass it took. */
  private async resyncNow(): Promise<unknown> {
    const t0 = performance.now();
    await this.reconciler.idle();
    this.reconciler.requestResync();
    await this.reconciler.idle();
    return { ...this.reconciler.lastPass, wallMs: Math.round((performance.now() - t0) * 10) / 10, desired: this.rib.size, pending: this.reconciler.pendingCount };
  }

  private sourceSynced(source: string): void {
    if (!this.unsynced.delete(source)) return;
    if (this.unsynced.size === 0) this.sourcesSynced(`every source replayed (last: ${source})`);
  }

  private sourcesSynced(why: string): void {
    if (this.reconciler.sweeping) return;
    this.log.info({ event: 'sweepAllowed', why }, 'sources synced: owned leftovers may now be removed');
    this.reconciler.allowSweep();
  }

  private onLink(change: 'new' | 'del', l: KernelLink): void {
    const state = this.reconciler.state;
    if (change === 'del') {
      if (state.removeLink(l.ifindex)) {
        this.log.info({ event: 'linkRemoved', ifname: l.name, ifindex: l.ifindex }, 'link removed');
        this.reconciler.requestResync();
      }
      return;
    }
    const old = state.putLink(l);
    if (l.vrfTable !== undefined) this.followVrf(l.name, l.vrfTable);
    const up = isLinkUp(l.flags);
    // Enslaving to a VRF or releasing from one flushes the interface's neighbours too.
    const changed = !old || isLinkUp(old.flags) !== up || old.name !== l.name || !sameBytes(old.mac, l.mac) || old.master !== l.master;
    if (!changed) return;
    if (this.manages(l.name) || (old && this.manages(old.name))) {
      this.log.info({ event: up ? 'linkUp' : 'linkDown', ifname: l.name, ifindex: l.ifindex }, up ? 'link up' : 'link down');
    }
    if (up && this.manages(l.name) && this.ra && this.deps.config.ra.solicitOnLinkUp && l.mac) {
      if (this.deps.dryRun) this.log.info({ event: 'dryRunNoSolicit', ifname: l.name }, 'dry run: no router solicitation sent on link up');
      else this.ra.solicit(l.ifindex, l.mac);
    }
    // Admin down drops our routes and neighbour without RTM_DELROUTE; a MAC change
    // flushes neighbours; a new ifindex is a new interface: the dump tells what is left.
    this.reconciler.requestResync();
  }

  /** the table of the VRF device named so, if the kernel has one */
  private vrfTable(name: string): number | undefined {
    const l = this.reconciler.state.linkByName(name);
    return l?.kind === 'vrf' ? l.vrfTable : undefined;
  }

  /** Routes placed by this VRF's name move with its table (a device re-created with another). */
  private followVrf(vrf: string, table: number): void {
    const move = this.vrfRoutes.follow(vrf, table, this.rib);
    if (move) this.log.info({ event: 'vrfTableChanged', vrf, ...move }, 'VRF device has another table: its routes follow');
  }

  private onNeighbour(change: 'new' | 'del', n: KernelNeighbour): void {
    if (this.reconciler.isPlaceholder(n)) {
      if (change === 'new') this.reconciler.state.putPlaceholder(n);
      else this.reconciler.state.removePlaceholder(n.ifindex, n.dst.readUInt32BE(0));
      this.reconciler.markNeighbourDrift(n.ifindex);
      return;
    }
    if (change === 'new') this.notePeerEvidence(n);
  }

  /** A router advertisement: `ra` evidence, and a re-check of that interface's neighbour. */
  private onRouterAdvert(ev: RouterAdvertEvent): void {
    const link = this.reconciler.state.links.get(ev.ifindex);
    if (!link || !this.manages(link.name)) return;
    this.lastRaAt.set(peerKey(link.name, ev.source), this.now());
    if (ev.sourceMac) this.noteEvidence(link.name, ev.source, ev.sourceMac, 'ra');
    if (this.rib.peersOn(link.name).has(ev.source)) this.reconciler.markNeighbourDrift(link.ifindex);
  }

  /** An IPv6 neighbour entry for a link-local with a MAC is `ndp` evidence for that peer. */
  private notePeerEvidence(n: KernelNeighbour): void {
    if (n.family !== AF_INET6 || !n.lladdr || !isLinkLocalBytes(n.dst)) return;
    if (n.state & (NUD_INCOMPLETE | NUD_FAILED)) return;
    const link = this.reconciler.state.links.get(n.ifindex);
    const mac = macFromBytes(n.lladdr);
    if (!link || !mac || !isUnicastMac(mac) || !this.manages(link.name)) return;
    this.noteEvidence(link.name, linkLocalFromBytes(n.dst), mac, 'ndp');
  }

  private noteEvidence(ifname: string, ll: LinkLocal, mac: Mac, evidence: 'ndp' | 'ra'): void {
    const before = this.peers.resolve(ifname, ll);
    if (this.peers.observe(ifname, ll, { mac, evidence, atMs: this.now() })) {
      const after = this.peers.resolve(ifname, ll);
      if (after.resolved && before.resolved && before.mac === after.mac) {
        // the same MAC on stronger evidence (ndp, then ra): nothing a reader must know
        this.log.debug({ event: 'peerEvidence', ifname, peer: ll, mac: after.mac, evidence: after.evidence, previousEvidence: before.evidence }, 'peer MAC confirmed');
      } else if (after.resolved) {
        const level = after.contradictsEui64 ? 'warn' : 'info';
        this.log[level](
          { event: 'peerResolved', ifname, peer: ll, mac: after.mac, evidence: after.evidence, previous: before.resolved ? before.mac : null },
          after.contradictsEui64 ? 'peer MAC differs from its EUI-64 link-local; using what the wire says' : 'peer MAC learnt',
        );
      }
      if (this.rib.peersOn(ifname).has(ll)) this.reconciler.markAllDirty();
    }
  }
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.equals(b));
}
