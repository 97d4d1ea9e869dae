// Peer MACs from evidence, strongest wins: `ra` (source link-layer option of a router
// advertisement) > `ndp` (the kernel's IPv6 neighbour entry) > `eui64` (derived from the
// link-local). A derived MAC that the wire contradicts is never used (FRR issue 2205).
import { macFromLinkLocal } from '../model/eui64.js';
import type { LinkLocal } from '../model/link-local.js';
import type { Mac } from '../model/mac.js';
import { peerKey } from '../model/peer-key.js';

// daemon.ts imports it from here (its owner is restructuring that file)
export { peerKey } from '../model/peer-key.js';

export type Evidence = 'eui64' | 'ndp' | 'ra';
const STRENGTH: Record<Evidence, number> = { eui64: 0, ndp: 1, ra: 2 };

export interface PeerObservation {
  readonly mac: Mac;
  readonly evidence: Exclude<Evidence, 'eui64'>;
  readonly atMs: number;
}

export type PeerResolution =
  | { readonly resolved: true; readonly mac: Mac; readonly evidence: Evidence; readonly contradictsEui64: boolean }
  | { readonly resolved: false; readonly reason: string };

const key = peerKey;

export interface PeerRecord {
  readonly interface: string;
  readonly linkLocal: LinkLocal;
  readonly ndp?: PeerObservation;
  readonly ra?: PeerObservation;
}

interface PeerEntry {
  interface: string;
  linkLocal: LinkLocal;
  ndp?: PeerObservation;
  ra?: PeerObservation;
}

export class PeerTable {
  private readonly peers = new Map<string, PeerEntry>();

  /** Records what the wire said; returns true when the peer's resolved MAC may have changed. */
  observe(ifname: string, ll: LinkLocal, obs: PeerObservation): boolean {
    const k = key(ifname, ll);
    let p = this.peers.get(k);
    if (!p) {
      p = { interface: ifname, linkLocal: ll };
      this.peers.set(k, p);
    }
    const before = this.resolve(ifname, ll);
    p[obs.evidence] = obs;
    const after = this.resolve(ifname, ll);
    return !(before.resolved && after.resolved && before.mac === after.mac && before.evidence === after.evidence);
  }

  resolve(ifname: string, ll: LinkLocal): PeerResolution {
    const p = this.peers.get(key(ifname, ll));
    const derived = macFromLinkLocal(ll);
    let best: PeerObservation | undefined;
    for (const o of [p?.ndp, p?.ra]) {
      if (o && (!best || STRENGTH[o.evidence] > STRENGTH[best.evidence] || (o.evidence === best.evidence && o.atMs > best.atMs))) best = o;
    }
    // The newest observation wins between ndp and ra when they disagree: a MAC change
    // (new NIC) shows up first in whichever the kernel or the peer sends next.
    if (p?.ndp && p.ra && p.ndp.mac !== p.ra.mac) best = p.ndp.atMs > p.ra.atMs ? p.ndp : p.ra;
    if (best) return { resolved: true, mac: best.mac, evidence: best.evidence, contradictsEui64: derived !== undefined && derived !== best.mac };
    if (derived) return { resolved: true, mac: derived, evidence: 'eui64', contradictsEui64: false };
    return { resolved: false, reason: `peer ${ll} on ${ifname}: link-local is not EUI-64 and no router advertisement or neighbour entry has given its MAC yet` };
  }

  /**
   * Peers the wire told us about on an interface, routers (RA) first; one per MAC. A peer
   * that changed its link-local (a manual address replacing the EUI-64 one, a reboot with
   * stable-privacy) keeps sending from the same MAC: it is one neighbour, not two, and the
   * newest link-local heard from that MAC stands for it. Only different MACs make an
   * interface-only next hop ambiguous.
   */
  learntOn(ifname: string): LinkLocal[] {
    const ra: PeerEntry[] = [];
    const ndp: PeerEntry[] = [];
    for (const p of this.peers.values()) {
      if (p.interface !== ifname) continue;
      if (p.ra) ra.push(p);
      else if (p.ndp) ndp.push(p);
    }
    const newestByMac = new Map<Mac, { ll: LinkLocal; atMs: number }>();
    for (const p of ra.length > 0 ? ra : ndp) {
      const r = this.resolve(ifname, p.linkLocal);
      if (!r.resolved) continue;
      const atMs = Math.max(p.ra?.atMs ?? -Infinity, p.ndp?.atMs ?? -Infinity);
      const held = newestByMac.get(r.mac);
      if (!held || atMs > held.atMs) newestByMac.set(r.mac, { ll: p.linkLocal, atMs });
    }
    return [...newestByMac.values()].map((v) => v.ll);
  }

  /** Forgets every peer on an interface (the link is gone); returns how many. */
  forget(ifname: string): number {
    let n = 0;
    for (const [k, p] of this.peers) {
      if (p.interface !== ifname) continue;
      this.peers.delete(k);
      n++;
    }
    return n;
  }

  /**
   * Forgets peers nothing has been heard from since `beforeMs` (no neighbour entry, no
   * router advertisement), unless `keep` says something still needs them; returns them.
   * Without this the table only grows: every link-local ever seen on a managed link stays.
   */
  forgetIdle(beforeMs: number, keep: (ifname: string, ll: LinkLocal) => boolean): PeerRecord[] {
    const gone: PeerRecord[] = [];
    for (const [k, p] of this.peers) {
      const heardAt = Math.max(p.ndp?.atMs ?? -Infinity, p.ra?.atMs ?? -Infinity);
      if (heardAt >= beforeMs || keep(p.interface, p.linkLocal)) continue;
      this.peers.delete(k);
      gone.push(p);
    }
    return gone;
  }

  get size(): number {
    return this.peers.size;
  }

  list(): PeerRecord[] {
    return [...this.peers.values()];
  }
}
