// What the wire says about peers, read into the peer table: an IPv6 neighbour entry for a
// link-local with a MAC is `ndp` evidence, a router advertisement's source link-layer option
// `ra` evidence. A peer some route names whose MAC may have changed makes the routes
// re-planned; a router advertisement from one re-checks that interface's neighbour. Peers
// that go quiet and that no route needs are forgotten, and so are a removed link's.
import { AF_INET6, NUD_FAILED, NUD_INCOMPLETE, type KernelNeighbour } from '../kernel/rtnetlink-codec.js';
import type { Logger } from '../log.js';
import { isLinkLocalBytes, linkLocalFromBytes, type LinkLocal } from '../model/link-local.js';
import { isUnicastMac, macFromBytes, type Mac } from '../model/mac.js';
import type { Clock } from '../runtime/clock.js';
import { peerKey, type PeerTable } from './peer-table.js';

/**
 * A peer heard from neither by neighbour entry nor by router advertisement for this long,
 * and named by no route, is forgotten. Routers advertise every few minutes at most, and the
 * kernel's neighbour entry of a BGP peer is re-read at every dump: an hour is long gone.
 */
export const PEER_IDLE_FORGET_MS = 60 * 60_000;

/** The routes' side: which peers they name. */
interface PeerDemand {
  peersOn(ifname: string): ReadonlyMap<LinkLocal, number>;
  wantsLearntPeer(ifname: string): boolean;
}

export interface PeerEvidenceDeps {
  readonly peers: PeerTable;
  readonly demand: PeerDemand;
  /** the interface name of an ifindex, if it is one we manage */
  readonly managedName: (ifindex: number) => string | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  /** a peer some route names may have another MAC now: re-plan */
  readonly peerChanged: () => void;
  /** a router advertisement from a peer a route names: re-check that interface's neighbour */
  readonly recheckNeighbour: (ifindex: number) => void;
}

export interface PeerEvidenceStats {
  /** peers in the table (learnt by ndp or ra) */
  readonly known: number;
  /** peers a router advertisement has come from */
  readonly advertising: number;
  /** forgotten since start: quiet and unneeded, or on a removed link */
  readonly forgotten: number;
}

export class PeerEvidence {
  /** when the last router advertisement came from each peer (peerKey) */
  private readonly lastRaAtByPeer = new Map<string, number>();
  private forgotten = 0;

  constructor(private readonly deps: PeerEvidenceDeps) {}

  /** An IPv6 neighbour entry (an event or a dump's). */
  noteNeighbour(n: KernelNeighbour): void {
    if (n.family !== AF_INET6 || !n.lladdr || !isLinkLocalBytes(n.dst)) return;
    if (n.state & (NUD_INCOMPLETE | NUD_FAILED)) return;
    const ifname = this.deps.managedName(n.ifindex);
    const mac = macFromBytes(n.lladdr);
    if (ifname === undefined || !mac || !isUnicastMac(mac)) return;
    this.note(ifname, linkLocalFromBytes(n.dst), mac, 'ndp');
  }

  /** A router advertisement: `ra` evidence, and a re-check of that interface's neighbour. */
  noteRouterAdvert(ev: { readonly ifindex: number; readonly source: LinkLocal; readonly sourceMac: Mac | undefined }): void {
    const ifname = this.deps.managedName(ev.ifindex);
    if (ifname === undefined) return;
    this.lastRaAtByPeer.set(peerKey(ifname, ev.source), this.deps.clock.now());
    if (ev.sourceMac) this.note(ifname, ev.source, ev.sourceMac, 'ra');
    if (this.deps.demand.peersOn(ifname).has(ev.source)) this.deps.recheckNeighbour(ev.ifindex);
  }

  /** when the last router advertisement came from this peer, ms on the clock */
  lastRaAt(ifname: string, ll: LinkLocal): number | undefined {
    return this.lastRaAtByPeer.get(peerKey(ifname, ll));
  }

  /** The link is gone: so is what we learnt on it. */
  forgetLink(ifname: string): void {
    const n = this.deps.peers.forget(ifname);
    for (const k of this.lastRaAtByPeer.keys()) if (k.startsWith(`${ifname}%`)) this.lastRaAtByPeer.delete(k);
    this.forgotten += n;
    if (n > 0) this.deps.log.info({ event: 'peersForgotten', ifname, peers: n, why: 'link removed' }, 'peers of a removed link forgotten');
  }

  /** Forgets peers quiet for PEER_IDLE_FORGET_MS that no route names (run now and then). */
  forgetIdle(): number {
    const { demand } = this.deps;
    const before = this.deps.clock.now() - PEER_IDLE_FORGET_MS;
    const keep = (ifname: string, ll: LinkLocal): boolean => demand.peersOn(ifname).has(ll) || demand.wantsLearntPeer(ifname);
    const gone = this.deps.peers.forgetIdle(before, keep);
    for (const p of gone) {
      this.lastRaAtByPeer.delete(peerKey(p.interface, p.linkLocal));
      this.deps.log.debug({ event: 'peerForgotten', ifname: p.interface, peer: p.linkLocal }, 'quiet peer no route names forgotten');
    }
    this.forgotten += gone.length;
    return gone.length;
  }

  stats(): PeerEvidenceStats {
    return { known: this.deps.peers.size, advertising: this.lastRaAtByPeer.size, forgotten: this.forgotten };
  }

  private note(ifname: string, ll: LinkLocal, mac: Mac, evidence: 'ndp' | 'ra'): void {
    const { peers, log } = this.deps;
    const before = peers.resolve(ifname, ll);
    if (!peers.observe(ifname, ll, { mac, evidence, atMs: this.deps.clock.now() })) return;
    const after = peers.resolve(ifname, ll);
    if (after.resolved && before.resolved && before.mac === after.mac) {
      // the same MAC on stronger evidence (ndp, then ra): nothing a reader must know
      log.debug({ event: 'peerEvidence', ifname, peer: ll, mac: after.mac, evidence: after.evidence, previousEvidence: before.evidence }, 'peer MAC confirmed');
    } else if (after.resolved) {
      const level = after.contradictsEui64 ? 'warn' : 'info';
      log[level](
        { event: 'peerResolved', ifname, peer: ll, mac: after.mac, evidence: after.evidence, previous: before.resolved ? before.mac : null },
        after.contradictsEui64 ? 'peer MAC differs from its EUI-64 link-local; using what the wire says' : 'peer MAC learnt',
      );
    }
    if (this.deps.demand.peersOn(ifname).has(ll)) this.deps.peerChanged();
  }
}
