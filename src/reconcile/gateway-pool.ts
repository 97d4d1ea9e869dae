// Placeholder gateways per (interface, peer). FRR keeps one 169.254.0.1 per interface, so
// two unnumbered peers on a shared segment overwrite each other's MAC (FRR issue 8668).
// Here every peer on an interface has its own address from kernel.gateway-pool: the first
// .1, further peers .2, .3 ... Pure logic with memory; the reconciler feeds it what the
// kernel holds.
import type { LinkLocal } from '../model/link-local.js';
import type { Mac } from '../model/mac.js';

/** An IPv4 neighbour entry the kernel holds at a pool address on one interface. */
export interface HeldPlaceholder {
  readonly gateway: number;
  readonly mac: Mac | undefined;
  readonly permanent: boolean;
  /** written by us (our protocol) */
  readonly ours: boolean;
  /** its NDA_PROTOCOL, where known (zebra's is RTPROT_ZEBRA, 11) */
  readonly protocol?: number;
}

export interface ResolvedPeer {
  readonly linkLocal: LinkLocal;
  readonly mac: Mac;
}

export type GatewayChoice = { readonly ok: true; readonly gateway: number } | { readonly ok: false; readonly reason: string };

export class GatewayPool {
  /** per ifindex: the gateway each peer stands behind */
  private readonly byInterface = new Map<number, Map<LinkLocal, number>>();
  private changed = false;
  /** interfaces looked at in this pass */
  private readonly seen = new Set<number>();

  /** gateways are first .. first + size - 1 */
  constructor(readonly first: number, readonly size: number, private readonly text: string) {}

  contains(addr: number): boolean {
    return addr >= this.first && addr < this.first + this.size;
  }

  /**
   * The gateway of each resolved peer on an interface. A peer keeps the one it has. A peer
   * new to us takes back the placeholder the kernel holds with its MAC (so a restart finds
   * the same numbering, and a zebra-written 169.254.0.1 with the same MAC is shared), else
   * the lowest address nobody holds. A peer whose gateway another writer takes over with
   * another MAC moves to a free one. Peers are taken in link-local order, so a fresh start
   * numbers the same peers the same way. Peers not listed lose their gateway; their
   * placeholder stays held (never reused) until it is deleted.
   */
  assign(ifindex: number, peers: readonly ResolvedPeer[], held: readonly HeldPlaceholder[]): Map<LinkLocal, GatewayChoice> {
    this.seen.add(ifindex);
    const before = this.byInterface.get(ifindex);
    const mine = new Map<LinkLocal, number>();
    const sorted = [...peers].sort((a, b) => (a.linkLocal < b.linkLocal ? -1 : a.linkLocal > b.linkLocal ? 1 : 0));
    for (const p of sorted) {
      const g = before?.get(p.linkLocal);
      if (g === undefined || !this.contains(g)) continue;
      // Another writer put a different MAC at our gateway (zebra does, FRR issue 8668): we
      // move this peer to a free address rather than fight over that one.
      const h = held.find((x) => x.gateway === g);
      if (h && h.permanent && !h.ours && h.mac !== p.mac) continue;
      mine.set(p.linkLocal, g);
    }
    const taken = new Set(mine.values());
    for (const p of sorted) {
      if (mine.has(p.linkLocal)) continue;
      const same = held.find((h) => h.permanent && h.mac === p.mac && this.contains(h.gateway) && !taken.has(h.gateway));
      if (same) {
        mine.set(p.linkLocal, same.gateway);
        taken.add(same.gateway);
      }
    }
    // Dynamic entries (ARP that failed for a placeholder not yet written) are overwritten.
    const occupied = new Set(held.filter((h) => h.permanent).map((h) => h.gateway));
    // At start-up, ours with a MAC no peer has (the peer's MAC changed while we were down,
    // or someone rewrote it) is rewritten in place before a new address is taken, so the
    // numbering holds. Later, a freed placeholder waits for its delete: routes may still use it.
    const macs = new Set(peers.map((p) => p.mac));
    const leftovers = before ? [] : held
      .filter((h) => h.ours && h.permanent && this.contains(h.gateway) && !taken.has(h.gateway) && !(h.mac && macs.has(h.mac)))
      .map((h) => h.gateway)
      .sort((a, b) => a - b);
    const out = new Map<LinkLocal, GatewayChoice>();
    let next = this.first;
    for (const p of sorted) {
      let g = mine.get(p.linkLocal) ?? leftovers.shift();
      if (g === undefined) {
        while (next < this.first + this.size && (taken.has(next) || occupied.has(next))) next++;
        if (next >= this.first + this.size) {
          out.set(p.linkLocal, { ok: false, reason: `gateway pool ${this.text} has no free address left for peer ${p.linkLocal}` });
          continue;
        }
        g = next;
      }
      if (!mine.has(p.linkLocal)) {
        mine.set(p.linkLocal, g);
        taken.add(g);
      }
      out.set(p.linkLocal, { ok: true, gateway: g });
    }
    if (!sameAssignments(before, mine)) this.changed = true;
    if (mine.size > 0) this.byInterface.set(ifindex, mine);
    else this.byInterface.delete(ifindex);
    return out;
  }

  /** the gateway a peer stands behind, if it has one */
  gatewayOf(ifindex: number, linkLocal: LinkLocal): number | undefined {
    return this.byInterface.get(ifindex)?.get(linkLocal);
  }

  /** An interface whose link is down keeps its numbering for when it comes back. */
  keep(ifindex: number): void {
    this.seen.add(ifindex);
  }

  /**
   * A pass ends: interfaces it did not look at (no route uses them, or they are gone) give
   * their numbering up. Returns whether any peer's gateway changed since the last pass, in
   * which case routes that pass did not plan may still use the old one.
   */
  endPass(): boolean {
    for (const ifindex of this.byInterface.keys()) {
      if (!this.seen.has(ifindex)) {
        this.byInterface.delete(ifindex);
        this.changed = true;
      }
    }
    this.seen.clear();
    const c = this.changed;
    this.changed = false;
    return c;
  }
}

function sameAssignments(a: ReadonlyMap<LinkLocal, number> | undefined, b: ReadonlyMap<LinkLocal, number>): boolean {
  if ((a?.size ?? 0) !== b.size) return false;
  for (const [k, v] of b) if (a?.get(k) !== v) return false;
  return true;
}
