// A peer whose link-local carries no MAC and that nothing has told us about yet: ask the
// kernel to solicit it (NTF_USE on its IPv6 neighbour entry), every few seconds until the
// answer arrives as an RTM_NEWNEIGH. Its own timer makes a pass when the next probe is due.
import type { KernelOp } from '../kernel/kernel-ops.js';
import type { LinkLocal } from '../model/link-local.js';
import { peerKey } from '../model/peer-key.js';
import type { Clock, Timer } from '../runtime/clock.js';

export const PROBE_INTERVAL_MS = 3000;
/** remembered probe times, at most: the map is cleared beyond this */
const MAX_REMEMBERED = 10_000;

export interface ProbeView {
  /** interfaces that desired routes name */
  interfaces(): Iterable<string>;
  /** an up, managed link by name; undefined otherwise */
  usableLink(ifname: string): number | undefined;
  peersOn(ifname: string): Iterable<LinkLocal>;
  resolved(ifname: string, linkLocal: LinkLocal): boolean;
}

export interface ProberStats {
  /** solicitations asked of the kernel since start */
  readonly probes: number;
}

export class Prober {
  private readonly lastProbe = new Map<string, number>();
  private timer: Timer | undefined;
  private probes = 0;

  /** `due` asks for a pass: the next probe is due */
  constructor(private readonly clock: Clock, private readonly view: ProbeView, private readonly due: () => void) {}

  /** the probes due now, for this pass */
  plan(): KernelOp[] {
    const ops: KernelOp[] = [];
    const now = this.clock.now();
    const { view } = this;
    for (const ifname of view.interfaces()) {
      const ifindex = view.usableLink(ifname);
      if (ifindex === undefined) continue;
      for (const ll of view.peersOn(ifname)) {
        if (view.resolved(ifname, ll)) continue;
        const k = peerKey(ifname, ll);
        if (now - (this.lastProbe.get(k) ?? -Infinity) < PROBE_INTERVAL_MS) continue;
        this.lastProbe.set(k, now);
        ops.push({ kind: 'neigh.probe', ifindex, ifname, linkLocal: ll });
      }
    }
    this.probes += ops.length;
    if (ops.length > 0 && !this.timer) {
      this.timer = this.clock.setTimeout(() => {
        this.timer = undefined;
        this.due();
      }, PROBE_INTERVAL_MS);
    }
    if (this.lastProbe.size > MAX_REMEMBERED) this.lastProbe.clear();
    return ops;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  stats(): ProberStats {
    return { probes: this.probes };
  }
}
