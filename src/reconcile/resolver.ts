// Turns a desired route's peer next hops into kernel legs: which interface, which
// placeholder gateway, which MAC. Pure: links, peers and the RIB's peer counts come in.
import type { KernelMode } from '../config/config.js';
import { RTNH_F_ONLINK, type RouteLeg } from '../kernel/rtnetlink-codec.js';
import { linkLocalToBytes, type LinkLocal } from '../model/link-local.js';
import { macFromLinkLocal } from '../model/eui64.js';
import type { Mac } from '../model/mac.js';
import { peerKey } from '../model/peer-key.js';
import type { Evidence, PeerResolution } from '../peers/peer-table.js';
import type { PeerNexthop } from '../rib/route.js';
import type { GatewayPool, HeldPlaceholder, ResolvedPeer } from './gateway-pool.js';

export interface LinkView {
  readonly ifindex: number;
  readonly name: string;
  readonly up: boolean;
  readonly managed: boolean;
}

interface PeerSlot {
  readonly ifindex: number;
  readonly ifname: string;
  readonly gateway: number;
  readonly mac: Mac;
  readonly linkLocal: LinkLocal;
  readonly evidence: Evidence;
}

/** Why a leg cannot be installed; `link-down` legs keep what the kernel still has (carrier loss). */
export type PendingCode = 'no-interface' | 'unmanaged' | 'link-down' | 'peer-unresolved' | 'peer-ambiguous' | 'pool-exhausted' | 'route-conflict' | 'kernel-error';

/** how many learnt peers an ambiguity's reason and log line name */
export const MAX_NAMED_PEERS = 8;

/** NDA_PROTOCOL of the neighbour entries zebra writes (RTPROT_ZEBRA) */
const RTPROT_ZEBRA = 11;

/**
 * zebra's placeholder for one of our peers holds a MAC other than ours: zebra derived it from
 * a link-local that is not EUI-64 (FRR issue 2205), or the peer's MAC changed. We keep ours at
 * another pool address; traffic that follows zebra's own routes goes to the wrong MAC.
 */
export interface ZebraPlaceholderWrong {
  readonly ifname: string;
  readonly gateway: number;
  readonly zebraMac: Mac;
  readonly peer: LinkLocal;
  readonly ourMac: Mac;
  readonly evidence: Evidence;
  /** the pool address our placeholder for the peer is at, when it has one */
  readonly ourGateway: number | undefined;
}

export type SlotResult =
  | { readonly ok: true; readonly slot: PeerSlot }
  | { readonly ok: false; readonly code: PendingCode; readonly reason: string };

export interface ResolverInputs {
  link(name: string): LinkView | undefined;
  peersOn(ifname: string): Iterable<LinkLocal>;
  /** peers learnt on the interface from the wire, for next hops that name no peer */
  learntPeersOn(ifname: string): Iterable<LinkLocal>;
  resolvePeer(ifname: string, ll: LinkLocal): PeerResolution;
  placeholdersOn(ifindex: number): readonly HeldPlaceholder[];
}

/** An interface's peers for one pass: each named peer's slot, and the one "any peer" means. */
export interface InterfacePeers {
  readonly byPeer: ReadonlyMap<LinkLocal, SlotResult>;
  /** for next hops that name no peer ("169.254.0.1 onlink" from zebra) */
  readonly anyPeer: SlotResult;
}

type Unresolved = { readonly ok: false; readonly code: PendingCode; readonly reason: string };
export type LegResult = { readonly ok: true; readonly leg: RouteLeg } | Unresolved;

/** One pass's view: decisions are cached so every route of a pass sees the same answer. */
export class Resolver {
  private readonly byInterface = new Map<string, InterfacePeers>();
  private readonly legs = new Map<string, LegResult>();
  /** interfaces whose peers this pass looked at, and those of them whose link was usable */
  readonly looked = new Set<string>();
  readonly decided = new Set<string>();
  /** interfaces where a next hop naming only the interface met more than one learnt peer */
  readonly ambiguous = new Map<string, readonly LinkLocal[]>();
  readonly zebraWrong: ZebraPlaceholderWrong[] = [];

  /** `pool` numbers the placeholders in neighbor mode (unused in via mode) */
  constructor(private readonly inputs: ResolverInputs, private readonly mode: KernelMode, private readonly pool: GatewayPool) {}

  /**
   * The kernel leg for a next hop. neighbor mode: out of the interface via the placeholder
   * that stands for the peer, onlink. via mode: straight to the peer's link-local (RTA_VIA);
   * the kernel finds its MAC by neighbour discovery, so no MAC has to be resolved here.
   */
  legFor(nh: PeerNexthop): LegResult {
    const k = peerKey(nh.interface, nh.linkLocal);
    const cached = this.legs.get(k);
    if (cached) return cached;
    let result: LegResult;
    if (this.mode === 'via') {
      result = this.viaLeg(nh);
    } else {
      const r = this.slotFor(nh);
      result = r.ok ? { ok: true, leg: { ifindex: r.slot.ifindex, gateway: r.slot.gateway, flags: RTNH_F_ONLINK } } : r;
    }
    this.legs.set(k, result);
    return result;
  }

  private viaLeg(nh: PeerNexthop): LegResult {
    const link = this.inputs.link(nh.interface);
    const down = this.linkProblem(nh.interface, link);
    if (down || !link) return down!;
    // "169.254.0.1 onlink" next hops name no peer: the one learnt on the interface.
    let ll = nh.linkLocal;
    if (ll === undefined) {
      const learnt = [...this.inputs.learntPeersOn(nh.interface)].sort();
      this.looked.add(nh.interface);
      this.decided.add(nh.interface);
      if (learnt.length > 1) return this.ambiguity(nh.interface, learnt);
      ll = learnt[0];
    }
    if (ll === undefined) return { ok: false, code: 'peer-unresolved', reason: `no peer learnt on ${nh.interface} yet (no router advertisement or neighbour entry)` };
    return { ok: true, leg: { ifindex: link.ifindex, via6: linkLocalToBytes(ll), flags: 0 } };
  }

  /**
   * A next hop that names only the interface (zebra's classic FPM encoding: 169.254.0.1 +
   * ifindex) where more than one peer was learnt: any choice black-holes the other peers'
   * prefixes, so none is made.
   */
  private ambiguity(ifname: string, learnt: readonly LinkLocal[]): Unresolved {
    this.ambiguous.set(ifname, learnt);
    // a shared segment may show many neighbours: the reason names a few
    const named = learnt.slice(0, MAX_NAMED_PEERS).join(', ') + (learnt.length > MAX_NAMED_PEERS ? ', …' : '');
    return {
      ok: false,
      code: 'peer-ambiguous',
      reason: `${learnt.length} peers learnt on ${ifname} (${named}) and the next hop names only the interface (zebra's classic FPM encoding, 169.254.0.1 onlink): not guessing which; use nexthop-group mode (fpm use-next-hop-groups in zebra), whose next hops name the peer`,
    };
  }

  private linkProblem(ifname: string, link: LinkView | undefined): Unresolved | undefined {
    if (!link) return { ok: false, code: 'no-interface', reason: `interface ${ifname} does not exist` };
    if (!link.managed) return { ok: false, code: 'unmanaged', reason: `interface ${ifname} is not in the configured interfaces` };
    if (!link.up) return { ok: false, code: 'link-down', reason: `link ${ifname} is down` };
    return undefined;
  }

  /** The placeholder slot that stands for a next hop's peer on its interface. */
  slotFor(nh: PeerNexthop): SlotResult {
    const peers = this.peersOn(nh.interface);
    if (nh.linkLocal === undefined) return peers.anyPeer;
    return peers.byPeer.get(nh.linkLocal) ?? peers.anyPeer;
  }

  /** Every peer on an interface with its placeholder, decided once per pass. */
  peersOn(ifname: string): InterfacePeers {
    let result = this.byInterface.get(ifname);
    if (!result) {
      result = this.decideInterface(ifname);
      this.byInterface.set(ifname, result);
    }
    return result;
  }

  private decideInterface(ifname: string): InterfacePeers {
    const byPeer = new Map<LinkLocal, SlotResult>();
    const link = this.inputs.link(ifname);
    const problem = this.linkProblem(ifname, link);
    this.looked.add(ifname);
    if (problem || !link) {
      if (link) this.pool.keep(link.ifindex);
      return { byPeer, anyPeer: problem! };
    }
    this.decided.add(ifname);
    // Peers that routes name; where none is named, the one peer learnt there.
    let peers = [...this.inputs.peersOn(ifname)].sort();
    const learnt = [...this.inputs.learntPeersOn(ifname)].sort();
    const ambiguous = learnt.length > 1 ? this.ambiguity(ifname, learnt) : undefined;
    let unresolvedReason: string | undefined;
    if (peers.length === 0 && !ambiguous) {
      for (const ll of learnt) {
        const r = this.inputs.resolvePeer(ifname, ll);
        if (r.resolved) {
          peers = [ll];
          break;
        }
        unresolvedReason ??= r.reason;
      }
    }
    const resolved: (ResolvedPeer & { evidence: Evidence })[] = [];
    for (const ll of peers) {
      const r = this.inputs.resolvePeer(ifname, ll);
      if (r.resolved) resolved.push({ linkLocal: ll, mac: r.mac, evidence: r.evidence });
      else byPeer.set(ll, { ok: false, code: 'peer-unresolved', reason: r.reason });
    }
    const held = this.inputs.placeholdersOn(link.ifindex);
    const gateways = this.pool.assign(link.ifindex, resolved, held);
    let anyPeer: SlotResult | undefined;
    for (const p of resolved) {
      const g = gateways.get(p.linkLocal)!;
      const result: SlotResult = g.ok
        ? { ok: true, slot: { ifindex: link.ifindex, ifname, gateway: g.gateway, mac: p.mac, linkLocal: p.linkLocal, evidence: p.evidence } }
        : { ok: false, code: 'pool-exhausted', reason: `${g.reason} on ${ifname}` };
      byPeer.set(p.linkLocal, result);
      // "any peer" is the one at the lowest gateway: 169.254.0.1 where that is ours to give.
      if (result.ok && (!anyPeer?.ok || result.slot.gateway < anyPeer.slot.gateway)) anyPeer = result;
    }
    anyPeer ??= [...byPeer.values()][0] ?? {
      ok: false,
      code: 'peer-unresolved',
      reason: unresolvedReason ?? `no peer learnt on ${ifname} yet (no router advertisement or neighbour entry)`,
    };
    this.noteZebraPlaceholders(ifname, resolved, held, gateways);
    return { byPeer, anyPeer: ambiguous ?? anyPeer };
  }

  /**
   * zebra's PERMANENT placeholders on this interface whose MAC is none of our peers'. The peer
   * it stands for is the one whose EUI-64 derivation gives zebra's MAC (that is how zebra got
   * it), else the interface's only peer; with several peers and no such match, none is named.
   */
  private noteZebraPlaceholders(
    ifname: string,
    resolved: readonly (ResolvedPeer & { evidence: Evidence })[],
    held: readonly HeldPlaceholder[],
    gateways: ReadonlyMap<LinkLocal, { ok: boolean; gateway?: number }>,
  ): void {
    if (resolved.length === 0) return;
    for (const h of held) {
      if (h.ours || !h.permanent || h.protocol !== RTPROT_ZEBRA || !h.mac) continue;
      if (resolved.some((p) => p.mac === h.mac)) continue;
      const peer = resolved.find((p) => macFromLinkLocal(p.linkLocal) === h.mac) ?? (resolved.length === 1 ? resolved[0] : undefined);
      if (!peer) continue;
      const g = gateways.get(peer.linkLocal);
      this.zebraWrong.push({ ifname, gateway: h.gateway, zebraMac: h.mac, peer: peer.linkLocal, ourMac: peer.mac, evidence: peer.evidence, ourGateway: g?.ok ? g.gateway : undefined });
    }
  }
}
