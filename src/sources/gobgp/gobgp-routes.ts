// What the GoBGP source holds in the RIB, by prefix: the neighbour each route came from and
// the generation that last sent it, so a neighbour leaving ESTABLISHED withdraws its routes
// and a new generation's list can sweep what it did not re-send.
import { LogThrottle, type Logger } from '../../log.js';
import type { Ipv4Prefix } from '../../model/ipv4-prefix.js';
import type { Rib } from '../../rib/rib.js';
import { neighborKey, translatePath, UNUSABLE_REASONS, type GobgpPath, type PeerIndex, type UnusableReason } from './gobgp-path.js';

interface HeldRoute {
  readonly prefix: Ipv4Prefix;
  readonly neighbor: string;
  readonly generation: number;
}

export class GobgpRoutes {
  private readonly held = new Map<string, HeldRoute>();
  /** routes refused by filters or limits.max-routes */
  routesRefused = 0;
  readonly unusable = Object.fromEntries(UNUSABLE_REASONS.map((r) => [r, 0])) as Record<UnusableReason, number>;

  constructor(
    private readonly rib: Rib,
    private readonly table: number,
    private readonly log: Logger,
    /** rate-limits the warnings, shared with the source's own */
    private readonly warnLog: LogThrottle,
  ) {}

  get size(): number {
    return this.held.size;
  }

  /** A best path of generation `generation` (session `session`). */
  announce(session: string, generation: number, path: GobgpPath, peers: PeerIndex): void {
    const v = translatePath(path, peers, this.table);
    if (!v.ok) {
      this.unusable[v.reason]++;
      if (this.log.isLevelEnabled('debug')) this.log.debug({ event: 'gobgpPathUnusable', session, reason: v.reason, detail: v.detail }, 'GoBGP path not usable');
      // a best path we cannot use replaces one we could: ours must go
      if (v.prefix && v.reason !== 'not-ipv4-unicast') this.withdrawPrefix(session, v.prefix);
      return;
    }
    const change = this.rib.add(session, v.route);
    if (change === 'refused') {
      this.routesRefused++;
      this.held.delete(v.prefix.key);
      const refusal = this.rib.refusalOf(v.route.table, v.route.prefix);
      const dropped = this.warnLog.admit();
      if (dropped !== undefined) {
        this.log.warn({ event: 'gobgpRouteRefused', session, prefix: v.prefix.key, code: refusal?.code, error: refusal?.message, ...(dropped > 0 ? { notLogged: dropped } : {}) }, 'route from gobgpd refused');
      }
      return;
    }
    this.held.set(v.prefix.key, { prefix: v.prefix, neighbor: v.neighbor, generation });
    if (this.log.isLevelEnabled('debug')) this.log.debug({ event: 'gobgpRoute', session, prefix: v.prefix.key, change }, 'GoBGP route');
  }

  withdrawPath(session: string, path: GobgpPath): void {
    if (path.afi !== 1 || path.safi !== 1 || path.prefix === undefined) return;
    const h = this.held.get(path.prefix);
    if (h) this.withdrawPrefix(session, h.prefix);
  }

  /** A neighbour that left ESTABLISHED: gobgpd drops its paths too, but we do not wait for that. */
  withdrawNeighbor(session: string, address: string): void {
    const key = neighborKey(address);
    let n = 0;
    for (const h of [...this.held.values()]) {
      if (h.neighbor !== key) continue;
      this.withdrawPrefix(session, h.prefix);
      n++;
    }
    if (n > 0) this.log.info({ event: 'gobgpNeighborDown', session, neighbor: key, withdrawn: n }, 'a gobgpd neighbour left ESTABLISHED; its routes are withdrawn');
  }

  /** Forgets what generations before `generation` sent and it has not re-sent (the RIB's replay withdrew them). */
  forgetOlderThan(generation: number): void {
    for (const [k, h] of this.held) if (h.generation < generation) this.held.delete(k);
  }

  clear(): void {
    this.held.clear();
  }

  private withdrawPrefix(session: string, prefix: Ipv4Prefix): void {
    if (!this.held.delete(prefix.key)) return;
    const change = this.rib.withdraw(this.table, prefix);
    if (this.log.isLevelEnabled('debug')) this.log.debug({ event: 'gobgpRoute', session, prefix: prefix.key, change }, 'GoBGP route');
  }
}
