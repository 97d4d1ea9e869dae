// What the kernel holds, as last dumped or heard: links, our own routes, and the
// 169.254.0.1 placeholder entries. Foreign routes are never kept (conflicts are found
// by creating exclusively).
import { macFromBytes } from '../model/mac.js';
import { numberToIpv4 } from '../model/ipv4-prefix.js';
import type { ObservedNeighbour } from '../reconcile/plan.js';
import { routeKey } from '../rib/route.js';
import { AF_INET, IFF_LOWER_UP, IFF_UP, NUD_NOARP, NUD_PERMANENT, type KernelLink, type KernelNeighbour, type KernelRoute } from './rtnetlink-codec.js';

export const PLACEHOLDER_BYTES = Buffer.from([169, 254, 0, 1]);

export function isLinkUp(flags: number): boolean {
  return (flags & IFF_UP) !== 0 && (flags & IFF_LOWER_UP) !== 0;
}

export function isPermanent(state: number): boolean {
  return (state & (NUD_PERMANENT | NUD_NOARP)) !== 0;
}

export function kernelRouteKey(r: Pick<KernelRoute, 'table' | 'dst' | 'dstLen'>): string {
  return routeKey(r.table, `${numberToIpv4(r.dst)}/${r.dstLen}`);
}

export function isPlaceholder(n: KernelNeighbour): boolean {
  return n.family === AF_INET && n.dst.equals(PLACEHOLDER_BYTES);
}

export class KernelState {
  readonly links = new Map<number, KernelLink>();
  private readonly linksByName = new Map<string, KernelLink>();
  readonly ownedRoutes = new Map<string, KernelRoute[]>();
  readonly placeholders = new Map<number, ObservedNeighbour>();
  /** owned route legs per ifindex, so a neighbour is never removed under a route */
  private readonly legsByIfindex = new Map<number, number>();

  linkByName(name: string): KernelLink | undefined {
    return this.linksByName.get(name);
  }

  setLinks(links: readonly KernelLink[]): void {
    this.links.clear();
    this.linksByName.clear();
    for (const l of links) this.putLink(l);
  }

  /** Returns the previous state of that ifindex. */
  putLink(l: KernelLink): KernelLink | undefined {
    const old = this.links.get(l.ifindex);
    if (old && old.name !== l.name && this.linksByName.get(old.name) === old) this.linksByName.delete(old.name);
    this.links.set(l.ifindex, l);
    this.linksByName.set(l.name, l);
    return old;
  }

  removeLink(ifindex: number): KernelLink | undefined {
    const old = this.links.get(ifindex);
    if (!old) return undefined;
    this.links.delete(ifindex);
    if (this.linksByName.get(old.name) === old) this.linksByName.delete(old.name);
    return old;
  }

  clearRoutes(): void {
    this.ownedRoutes.clear();
    this.legsByIfindex.clear();
  }

  putRoute(r: KernelRoute): void {
    const key = kernelRouteKey(r);
    const list = this.ownedRoutes.get(key) ?? [];
    const i = list.findIndex((x) => x.metric === r.metric);
    if (i >= 0) {
      this.countLegs(list[i]!, -1);
      list[i] = r;
    } else list.push(r);
    this.countLegs(r, +1);
    this.ownedRoutes.set(key, list);
  }

  removeRoute(r: Pick<KernelRoute, 'table' | 'dst' | 'dstLen' | 'metric'>): void {
    const key = kernelRouteKey(r);
    const list = this.ownedRoutes.get(key);
    if (!list) return;
    const i = list.findIndex((x) => x.metric === r.metric);
    if (i < 0) return;
    this.countLegs(list[i]!, -1);
    list.splice(i, 1);
    if (list.length === 0) this.ownedRoutes.delete(key);
  }

  ownedLegsOn(ifindex: number): number {
    return this.legsByIfindex.get(ifindex) ?? 0;
  }

  setPlaceholders(neighbours: readonly KernelNeighbour[]): void {
    this.placeholders.clear();
    for (const n of neighbours) if (isPlaceholder(n)) this.putPlaceholder(n);
  }

  putPlaceholder(n: KernelNeighbour): void {
    this.placeholders.set(n.ifindex, {
      ifindex: n.ifindex,
      mac: n.lladdr ? macFromBytes(n.lladdr) : undefined,
      state: n.state,
      protocol: n.protocol,
    });
  }

  removePlaceholder(ifindex: number): void {
    this.placeholders.delete(ifindex);
  }

  private countLegs(r: KernelRoute, delta: number): void {
    for (const leg of r.legs) {
      const n = (this.legsByIfindex.get(leg.ifindex) ?? 0) + delta;
      if (n > 0) this.legsByIfindex.set(leg.ifindex, n);
      else this.legsByIfindex.delete(leg.ifindex);
    }
  }
}
