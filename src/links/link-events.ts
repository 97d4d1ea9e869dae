// Link and neighbour events, read for what they mean to us: a link that comes, goes, goes
// up or down, changes MAC, name or master means a resync (the kernel flushed what it
// flushes; the dump tells what is left); a VRF device's table is followed by the routes
// placed by its name; a neighbour event is either one of our placeholders (drift to
// repair) or peer evidence.
import { isLinkUp, type KernelState } from '../kernel/kernel-state.js';
import type { KernelLink, KernelNeighbour } from '../kernel/rtnetlink-codec.js';
import type { Logger } from '../log.js';
import type { PeerEvidence } from '../peers/peer-evidence.js';
import type { Rib } from '../rib/rib.js';
import type { VrfRoutes } from '../rib/vrf-routes.js';

/** What the link events ask of the reconciler. */
interface LinkReconciler {
  readonly state: KernelState;
  requestResync(): void;
  isPlaceholder(n: KernelNeighbour): boolean;
  markNeighbourDrift(ifindex: number): void;
}

export interface LinkEventsDeps {
  readonly reconciler: LinkReconciler;
  readonly rib: Rib;
  readonly vrfRoutes: VrfRoutes;
  readonly evidence: PeerEvidence;
  /** whether an interface is one we manage (follows reloads) */
  readonly manages: (name: string) => boolean;
  /** a managed link came up: ask its routers to advertise (ra.solicit-on-link-up) */
  readonly linkCameUp: (ifindex: number, mac: Buffer) => void;
  readonly log: Logger;
}

export class LinkEvents {
  constructor(private readonly deps: LinkEventsDeps) {}

  onLink(change: 'new' | 'del', l: KernelLink): void {
    const { reconciler, log, manages } = this.deps;
    const state = reconciler.state;
    if (change === 'del') {
      const gone = state.removeLink(l.ifindex);
      if (gone) {
        log.info({ event: 'linkRemoved', ifname: l.name, ifindex: l.ifindex }, 'link removed');
        this.deps.evidence.forgetLink(gone.name);
        reconciler.requestResync();
      }
      return;
    }
    const old = state.putLink(l);
    if (l.vrfTable !== undefined) this.followVrf(l.name, l.vrfTable);
    const up = isLinkUp(l.flags);
    // Enslaving to a VRF or releasing from one flushes the interface's neighbours too.
    const changed = !old || isLinkUp(old.flags) !== up || old.name !== l.name || !sameBytes(old.mac, l.mac) || old.master !== l.master;
    if (!changed) return;
    if (manages(l.name) || (old && manages(old.name))) {
      log.info({ event: up ? 'linkUp' : 'linkDown', ifname: l.name, ifindex: l.ifindex }, up ? 'link up' : 'link down');
    }
    if (up && manages(l.name) && l.mac) this.deps.linkCameUp(l.ifindex, l.mac);
    // Admin down drops our routes and neighbour without RTM_DELROUTE; a MAC change
    // flushes neighbours; a new ifindex is a new interface: the dump tells what is left.
    reconciler.requestResync();
  }

  onNeighbour(change: 'new' | 'del', n: KernelNeighbour): void {
    const { reconciler } = this.deps;
    if (reconciler.isPlaceholder(n)) {
      if (change === 'new') reconciler.state.putPlaceholder(n);
      else reconciler.state.removePlaceholder(n.ifindex, n.dst.readUInt32BE(0));
      reconciler.markNeighbourDrift(n.ifindex);
      return;
    }
    if (change === 'new') this.deps.evidence.noteNeighbour(n);
  }

  /** What a dump shows besides our state: a VRF re-created while events were lost (an overrun), peer evidence. */
  dumped(links: readonly KernelLink[], neighbours: readonly KernelNeighbour[]): void {
    for (const l of links) if (l.vrfTable !== undefined) this.followVrf(l.name, l.vrfTable);
    for (const n of neighbours) this.deps.evidence.noteNeighbour(n);
  }

  /** the table of the VRF device named so, if the kernel has one */
  vrfTable(name: string): number | undefined {
    const l = this.deps.reconciler.state.linkByName(name);
    return l?.kind === 'vrf' ? l.vrfTable : undefined;
  }

  /** Routes placed by this VRF's name move with its table (a device re-created with another). */
  private followVrf(vrf: string, table: number): void {
    const move = this.deps.vrfRoutes.follow(vrf, table, this.deps.rib);
    if (move) this.deps.log.info({ event: 'vrfTableChanged', vrf, ...move }, 'VRF device has another table: its routes follow');
  }
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.equals(b));
}
