// Turns a desired route's peer next hops into kernel legs: which interface, which
// placeholder gateway, which MAC. Pure: links, peers and the RIB's peer counts come in.
import type { KernelMode } from '../config/config.js';
import { RTNH_F_ONLINK, type RouteLeg } from '../kernel/rtnetlink-codec.js';
import { linkLocalToBytes, type LinkLocal } from '../model/link-local.js';
import type { Mac } from '../model/mac.js';
import type { Evidence, PeerResolution } from '../peers/peer-table.js';
import type { PeerNexthop } from '../rib/route.js';
import { PLACEHOLDER_GATEWAY } from './kernel-ops.js';

export interface LinkView {
  readonly ifindex: number;
  readonly name: string;
  readonly up: boolean;
  readonly managed: boolean;
}

export interface PeerSlot {
  readonly ifindex: number;
  readonly ifname: string;
  readonly gateway: number;
  readonly mac: Mac;
  readonly linkLocal: LinkLocal;
  readonly evidence: Evidence;
}

/** Why a leg cannot be installed; `link-down` legs keep what the kernel still has (carrier loss). */
export type PendingCode = 'no-interface' | 'unmanaged' | 'link-down' | 'peer-unresolved' | 'slot-taken' | 'neighbour-conflict' | 'route-conflict' | 'kernel-error';

export type SlotResult =
  | { readonly ok: true; readonly slot: PeerSlot }
  | { readonly ok: false; readonly code: PendingCode; readonly reason: string };

/** The 169.254.0.1 entry the kernel holds on an interface, as far as the resolver cares. */
export interface PlaceholderView {
  readonly mac: Mac | undefined;
  /** PERMANENT and written by someone else (another protocol, or by hand) */
  readonly foreign: boolean;
  readonly protocol: number;
}

export interface ResolverInputs {
  link(name: string): LinkView | undefined;
  peersOn(ifname: string): Iterable<LinkLocal>;
  /** peers learnt on the interface from the wire, for next hops that name no peer */
  learntPeersOn(ifname: string): Iterable<LinkLocal>;
  resolvePeer(ifname: string, ll: LinkLocal): PeerResolution;
  placeholder(ifindex: number): PlaceholderView | undefined;
}

type Unresolved = { readonly ok: false; readonly code: PendingCode; readonly reason: string };
export type LegResult = { readonly ok: true; readonly leg: RouteLeg } | Unresolved;

/** One pass's view: slot decisions are cached so every route of a pass sees the same answer. */
export class Resolver {
  private readonly slots = new Map<string, SlotResult>();
  private readonly byInterface = new Map<string, SlotResult>();
  private readonly legs = new Map<string, LegResult>();

  constructor(private readonly inputs: ResolverInputs, private readonly mode: KernelMode = 'neighbor') {}

  /**
   * The kernel leg for a next hop. neighbor mode: out of the interface via the placeholder
   * that stands for the peer, onlink. via mode: straight to the peer's link-local (RTA_VIA);
   * the kernel finds its MAC by neighbour discovery, so no MAC has to be resolved here.
   */
  legFor(nh: PeerNexthop): LegResult {
    const k = `${nh.interface}%${nh.linkLocal ?? '*'}`;
    const cached = this.legs.get(k);
    if (cached) return cached;
    let result: LegResult;
    if (this.mode === 'via') {
      result = this.viaLeg(nh);
    } else {
      const r = this.leg(nh);
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
    const ll = nh.linkLocal ?? [...this.inputs.learntPeersOn(nh.interface)].sort()[0];
    if (ll === undefined) return { ok: false, code: 'peer-unresolved', reason: `no peer learnt on ${nh.interface} yet (no router advertisement or neighbour entry)` };
    return { ok: true, leg: { ifindex: link.ifindex, via6: linkLocalToBytes(ll), flags: 0 } };
  }

  private linkProblem(ifname: string, link: LinkView | undefined): Unresolved | undefined {
    if (!link) return { ok: false, code: 'no-interface', reason: `interface ${ifname} does not exist` };
    if (!link.managed) return { ok: false, code: 'unmanaged', reason: `interface ${ifname} is not in the configured interfaces` };
    if (!link.up) return { ok: false, code: 'link-down', reason: `link ${ifname} is down` };
    return undefined;
  }

  /** The peer that holds 169.254.0.1 on an interface: the lowest resolved link-local. */
  interfaceSlot(ifname: string): SlotResult {
    const cached = this.byInterface.get(ifname);
    if (cached) return cached;
    const result = this.computeInterfaceSlot(ifname);
    this.byInterface.set(ifname, result);
    return result;
  }

  leg(nh: PeerNexthop): SlotResult {
    const k = `${nh.interface}%${nh.linkLocal ?? '*'}`;
    const cached = this.slots.get(k);
    if (cached) return cached;
    let result = this.interfaceSlot(nh.interface);
    if (nh.linkLocal === undefined) {
      // "169.254.0.1 onlink": whichever peer holds the interface's placeholder
    } else if (result.ok && result.slot.linkLocal !== nh.linkLocal) {
      const own = this.inputs.resolvePeer(nh.interface, nh.linkLocal);
      result = {
        ok: false,
        code: own.resolved ? 'slot-taken' : 'peer-unresolved',
        reason: own.resolved
          ? `169.254.0.1 on ${nh.interface} already stands for peer ${result.slot.linkLocal}; a second peer on one segment is not supported yet`
          : own.reason,
      };
    } else if (!result.ok) {
      // Say why this peer in particular is unresolved where that is the reason.
      const own = this.inputs.resolvePeer(nh.interface, nh.linkLocal);
      const link = this.inputs.link(nh.interface);
      if (link && link.managed && link.up && !own.resolved) result = { ok: false, code: 'peer-unresolved', reason: own.reason };
    }
    this.slots.set(k, result);
    return result;
  }

  private computeInterfaceSlot(ifname: string): SlotResult {
    const link = this.inputs.link(ifname);
    const problem = this.linkProblem(ifname, link);
    if (problem || !link) return problem!;
    let candidates = [...this.inputs.peersOn(ifname)].sort();
    if (candidates.length === 0) candidates = [...this.inputs.learntPeersOn(ifname)].sort();
    let firstReason: string | undefined;
    for (const ll of candidates) {
      const r = this.inputs.resolvePeer(ifname, ll);
      if (r.resolved) {
        const held = this.inputs.placeholder(link.ifindex);
        if (held?.foreign && held.mac !== r.mac) {
          return {
            ok: false,
            code: 'neighbour-conflict',
            reason: `169.254.0.1 on ${ifname} is held by another writer (protocol ${held.protocol}) with MAC ${held.mac ?? 'none'}, not peer ${ll}'s ${r.mac}`,
          };
        }
        return { ok: true, slot: { ifindex: link.ifindex, ifname, gateway: PLACEHOLDER_GATEWAY, mac: r.mac, linkLocal: ll, evidence: r.evidence } };
      }
      firstReason ??= r.reason;
    }
    return { ok: false, code: 'peer-unresolved', reason: firstReason ?? `no peer learnt on ${ifname} yet (no router advertisement or neighbour entry)` };
  }

  /** Every interface slot decided in this pass. */
  decidedSlots(): ReadonlyMap<string, SlotResult> {
    return this.byInterface;
  }
}
