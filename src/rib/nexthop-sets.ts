// Next-hop sets, interned: a million routes name a handful of distinct sets ("via peer A on
// swp1 and peer B on swp2"), so each route stores a set id and each set is resolved once a
// pass, not once a route. Reference-counted by the routes that use them.
import type { LinkLocal } from '../model/link-local.js';
import { peerKey } from '../model/peer-key.js';
import type { PeerNexthop } from './route.js';

function setKey(nexthops: readonly PeerNexthop[]): string {
  if (nexthops.length === 1) return peerKey(nexthops[0]!.interface, nexthops[0]!.linkLocal);
  return nexthops.map((n) => peerKey(n.interface, n.linkLocal)).join('|');
}

export class NexthopSets {
  private readonly byKey = new Map<string, number>();
  private readonly sets: (readonly PeerNexthop[] | undefined)[] = [undefined];
  private readonly keys: string[] = [''];
  private readonly refs: number[] = [0];
  private readonly freeIds: number[] = [];
  /** the last array acquired and its key: a feed hands the same (frozen) array route after route */
  private lastNexthops: readonly PeerNexthop[] | undefined;
  private lastKey = '';

  /** The id of this (sorted) set, with one more reference. */
  acquire(nexthops: readonly PeerNexthop[]): number {
    const key = nexthops === this.lastNexthops && Object.isFrozen(nexthops) ? this.lastKey : setKey(nexthops);
    this.lastNexthops = nexthops;
    this.lastKey = key;
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = this.freeIds.pop() ?? this.sets.length;
      this.sets[id] = Object.freeze([...nexthops]);
      this.keys[id] = key;
      this.refs[id] = 0;
      this.byKey.set(key, id);
    }
    this.refs[id]!++;
    return id;
  }

  release(id: number): void {
    const n = --this.refs[id]!;
    if (n > 0) return;
    if (n < 0) throw new Error(`next-hop set ${id} released more often than acquired`);
    this.byKey.delete(this.keys[id]!);
    this.sets[id] = undefined;
    this.keys[id] = '';
    this.freeIds.push(id);
  }

  get(id: number): readonly PeerNexthop[] {
    const s = this.sets[id];
    if (!s) throw new Error(`next-hop set ${id} is not in use`);
    return s;
  }

  /** ids of the sets in use */
  *inUse(): IterableIterator<number> {
    for (let id = 1; id < this.sets.length; id++) if (this.sets[id]) yield id;
  }

  /** Peers (link-locals) named on an interface, with how many routes name each. */
  peersOn(ifname: string): Map<LinkLocal, number> {
    const out = new Map<LinkLocal, number>();
    for (const id of this.inUse()) {
      for (const nh of this.sets[id]!) {
        if (nh.interface === ifname && nh.linkLocal !== undefined) out.set(nh.linkLocal, (out.get(nh.linkLocal) ?? 0) + this.refs[id]!);
      }
    }
    return out;
  }

  /** whether some route names only the interface, leaving the peer to what we learnt there */
  wantsLearntPeer(ifname: string): boolean {
    for (const id of this.inUse()) for (const nh of this.sets[id]!) if (nh.interface === ifname && nh.linkLocal === undefined) return true;
    return false;
  }

  interfaces(): Set<string> {
    const out = new Set<string>();
    for (const id of this.inUse()) for (const nh of this.sets[id]!) out.add(nh.interface);
    return out;
  }
}
