// What the kernel tells us: dumps and events, into KernelState and our table's view. Which
// routes of our protocol are ours is decided here: those in tables we own.
import { isOurs } from '../model/ownership.js';
import type { Config } from '../config/config.js';
import type { Forwardings } from '../kernel/forwardings.js';
import { isPlaceholder, type KernelState } from '../kernel/kernel-state.js';
import type { KernelPort } from '../kernel/kernel.js';
import { RTN_THROW, type KernelLink, type KernelNeighbour, type KernelRoute, type KernelRule, type NexthopObject } from '../kernel/rtnetlink-codec.js';
import type { Logger } from '../log.js';
import { RT_TABLE_MAIN } from '../model/route-table.js';
import { F_KNOWN, type RouteStore } from '../rib/route-store.js';
import type { GatewayPool } from './gateway-pool.js';
import { shadows } from './longest-match.js';
import type { NexthopObjects } from './nexthop-objects.js';
import type { OwnTable } from './own-table.js';

/** what intake asks of the scheduler */
interface IntakeWork {
  /** re-plan one slot; the kernel changed it under us (a write that follows is a repair) */
  drifted(slot: number): void;
  /** re-plan every slot */
  markAll(): void;
  /** dump before the next pass */
  requestDump(): void;
  /** a pass for our table's rule and throws */
  schedule(): void;
}

export interface IntakeStats {
  /** routes of our protocol in tables we do not own, at the last dump */
  readonly foreignRoutes: number;
  readonly ownedRoutes: number;
  readonly placeholders: number;
}

export interface IntakeParts {
  readonly kernel: KernelPort;
  readonly config: Config;
  readonly log: Logger;
  readonly store: RouteStore;
  readonly state: KernelState;
  readonly forwardings: Forwardings;
  readonly ownTable: OwnTable;
  readonly gateways: GatewayPool;
  readonly nexthopObjects: NexthopObjects | undefined;
  readonly work: IntakeWork;
}

export class KernelIntake {
  /**
   * Tables whose routes of our protocol are ours: kernel.table and every table a source has
   * named since start. Grow-only. zebra writes its bgp routes with the same protocol (186)
   * into main; with kernel.table elsewhere they are neither tracked nor ever deleted.
   */
  private readonly ownedTables = new Set<number>();
  private foreignRoutes = 0;

  constructor(private readonly p: IntakeParts) {
    this.ownedTables.add(p.config.kernel.table);
  }

  stats(): IntakeStats {
    return { foreignRoutes: this.foreignRoutes, ownedRoutes: this.p.state.ownedRouteCount, placeholders: this.p.state.placeholders.size };
  }

  /** whether a neighbour entry is at one of our placeholder addresses (whoever wrote it) */
  isPlaceholder(n: KernelNeighbour): boolean {
    return isPlaceholder(n, (addr) => this.p.gateways.contains(addr));
  }

  /** A RIB slot changed: it is ours to delete from now on, even before the sweep. */
  claim(slot: number): void {
    const { store, ownTable, work } = this.p;
    const table = store.table[slot]!;
    if (!this.ownedTables.has(table)) {
      // Routes there were not tracked until now: a dump finds leftovers of ours to replace.
      this.ownedTables.add(table);
      work.requestDump();
    }
    store.flags[slot]! |= F_KNOWN;
    if (table === this.p.config.kernel.table) ownTable.noteOurs(store.addr[slot]!, store.len[slot]!);
  }

  /** The kernel changed a route (an event): ours is re-checked; main's may need a throw. */
  noteRoute(change: 'new' | 'del', r: KernelRoute): void {
    const { ownTable: own, config, state, work } = this.p;
    if (!isOurs(r, config.kernel.protocol) || !this.ownedTables.has(r.table)) {
      // main's routes, anyone's but ours: one more specific than a prefix of ours needs a throw
      if (r.table === RT_TABLE_MAIN && own.keepsThrows) {
        own.noteMainRoute(change, r.dst, r.dstLen, r.metric, shadows(r.type, r.tos ?? 0));
        work.schedule();
      }
      return;
    }
    if (r.table === config.kernel.table) {
      if (r.type === RTN_THROW) {
        own.noteThrow(change, r.dst, r.dstLen, r.metric);
        work.schedule();
        return;
      }
      own.noteOurs(r.dst, r.dstLen); // a route of ours came or went: the throws it needs may differ
    }
    const slot = change === 'new' ? state.putKernelRoute(r) : state.removeRoute(r.table, r.dst, r.dstLen, r.metric);
    if (slot >= 0) work.drifted(slot);
  }

  /** A policy rule changed (anyone's): ours is re-created if it went. */
  noteRule(change: 'new' | 'del', r: KernelRule): void {
    const own = this.p.ownTable;
    if (!own.keepsRule || !own.isOurRule(r)) return;
    own.noteRule(change, r);
    this.p.work.schedule();
  }

  /**
   * A nexthop object changed under us (someone's `ip nexthop del`; the kernel's own flush on
   * link down sends nothing, the link event's resync covers that): re-plan everything.
   */
  noteNexthop(change: 'new' | 'del', nh: NexthopObject): void {
    const { nexthopObjects, state } = this.p;
    if (!nexthopObjects) return;
    if (change === 'new') state.nexthops.set(nh.id, nh);
    else state.nexthops.delete(nh.id);
    if (isOurs(nh, this.p.config.kernel.protocol)) this.p.work.markAll();
  }

  /** Reads links, placeholders, nexthop objects, rules, main (when asked) and our routes. */
  async dump(withMain: boolean): Promise<{ links: KernelLink[]; neighbours: KernelNeighbour[] }> {
    const { kernel, state, nexthopObjects, ownTable: own } = this.p;
    const [links, neighbours] = [await kernel.dumpLinks(), await kernel.dumpNeighbours()];
    state.setLinks(links);
    state.setPlaceholders(neighbours.filter((n) => this.isPlaceholder(n)));
    if (nexthopObjects) {
      state.setNexthops(await kernel.dumpNexthops());
      nexthopObjects.adopt();
    }
    if (own.keepsRule) own.setRules(await kernel.dumpRules());
    if (own.keepsThrows && withMain) await this.dumpMain();
    await this.dumpOurRoutes();
    return { links, neighbours };
  }

  private async dumpOurRoutes(): Promise<void> {
    const { kernel, state, forwardings, ownTable: own, config, log } = this.p;
    const { ownedTables } = this;
    const ourTable = config.kernel.table;
    let foreign = 0;
    await kernel.dumpRoutes(config.kernel.protocol, {
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
    // what changed unheard (route events off in a burst, or lost) is drift: re-planned now,
    // not at the next full resync
    for (const s of state.endDump()) this.p.work.drifted(s);
    if (foreign > 0 && foreign !== this.foreignRoutes) {
      log.info({ event: 'foreignRoutesIgnored', count: foreign, protocol: config.kernel.protocol },
        'routes of our protocol in tables no source of ours names (zebra\'s own bgp routes, say): left alone');
    }
    this.foreignRoutes = foreign;
  }

  /**
   * main's routes that may shadow ours. All protocols, one table: the kernel filters by table
   * (NETLINK_GET_STRICT_CHK), so this costs what main holds (a few connected routes, or
   * zebra's copies of everything), not what our table holds.
   */
  private async dumpMain(): Promise<void> {
    const own = this.p.ownTable;
    const { protocol } = this.p.config.kernel;
    const mainIsOurs = this.ownedTables.has(RT_TABLE_MAIN);
    await this.p.kernel.dumpTablePrefixes(RT_TABLE_MAIN, {
      begin: () => own.beginMainDump(),
      route: (r) => {
        if (mainIsOurs && isOurs(r, protocol)) return;
        own.mainDumped(r.dst, r.dstLen, r.metric, shadows(r.type, r.tos));
      },
    });
  }
}
