// The FakeKernel's IPv4 routes: fib_table_insert / fib_table_delete reduced to the keys and
// checks the daemon meets (see fake-kernel.ts; the contract in test/helpers/kernel-contract.ts).
import { constants } from 'node:os';
import { MessageWriter, NLM_F_EXCL, NLM_F_REPLACE, splitMessages, type NetlinkMessage } from './netlink-codec.js';
import { decodeRoute, RTM_DELROUTE, RTN_UNICAST, RTNH_F_LINKDOWN, RTNH_F_ONLINK, writeNewRoute, type KernelRoute } from './rtnetlink-codec.js';

const { EEXIST, ESRCH, ENODEV, ENETDOWN, ENETUNREACH, EINVAL } = constants.errno;

/** A write the kernel refuses: its errno and extack text. */
/** what the kernel would answer with NLMSG_ERROR: an errno and, maybe, its extack text */
export class Refusal extends Error {
  constructor(readonly errno: number, readonly extack?: string) {
    super(extack ?? `errno ${errno}`);
  }
}

/** what the FIB needs of a link */
export interface FibLink {
  readonly up: boolean;
  readonly carrier: boolean;
}

const routeKey = (r: KernelRoute): string => `${r.table}/${r.dst}/${r.dstLen}/${r.tos ?? 0}/${r.metric}`;
const usesLink = (r: KernelRoute, ifindex: number): boolean => r.legs.some((l) => l.ifindex === ifindex);

export class FakeFib {
  private readonly routes = new Map<string, KernelRoute>();

  constructor(private readonly links: ReadonlyMap<number, FibLink>, private readonly hasNexthop: (id: number) => boolean) {}

  /** RTM_NEWROUTE or RTM_DELROUTE; the route as installed or removed, for the event */
  write(m: NetlinkMessage): { change: 'new' | 'del'; route: KernelRoute } {
    const r = decodeRoute(m);
    if (!r) throw new Refusal(EINVAL, 'FakeKernel: only IPv4 routes are modelled');
    if (m.type === RTM_DELROUTE) {
      // a delete names what must match: type, protocol and metric when given (0 = any)
      const victim = [...this.routes.values()].find((x) => x.table === r.table && x.dst === r.dst && x.dstLen === r.dstLen && (x.tos ?? 0) === (r.tos ?? 0)
        && (r.metric === 0 || x.metric === r.metric) && (r.protocol === 0 || x.protocol === r.protocol) && (r.type === 0 || x.type === r.type));
      if (!victim) throw new Refusal(ESRCH);
      this.routes.delete(routeKey(victim));
      return { change: 'del', route: victim };
    }
    // any route at the key, whoever's: EXCL refuses, REPLACE overwrites (append is not modelled)
    if (this.routes.has(routeKey(r)) && (m.flags & NLM_F_EXCL || !(m.flags & NLM_F_REPLACE))) throw new Refusal(EEXIST);
    const installed = this.check(r);
    this.routes.set(routeKey(installed), installed);
    return { change: 'new', route: installed };
  }

  /** a route as another kernel holds it, taken without checks (a dry run's seed); the one it replaced, if any */
  put(r: KernelRoute): KernelRoute | undefined {
    const before = this.routes.get(routeKey(r));
    this.routes.set(routeKey(r), r);
    return before;
  }

  routesWhere(filter: (r: KernelRoute) => boolean): KernelRoute[] {
    return [...this.routes.values()].filter(filter);
  }

  /** the route at r's key, taken out without checks; whether there was one */
  remove(r: KernelRoute): boolean {
    return this.routes.delete(routeKey(r));
  }

  /** admin down: routes out of the link go, with no RTM_DELROUTE */
  flushLink(ifindex: number): void {
    for (const [k, r] of this.routes) if (usesLink(r, ifindex)) this.routes.delete(k);
  }

  /** routes using a nexthop object that went */
  flushNexthops(ids: ReadonlySet<number>): void {
    for (const [k, r] of this.routes) if (r.nhId !== undefined && ids.has(r.nhId)) this.routes.delete(k);
  }

  /** carrier lost or back: the legs out of the link are flagged linkdown or cleared */
  markLinkdown(ifindex: number, down: boolean): void {
    for (const [k, r] of this.routes) {
      if (!usesLink(r, ifindex)) continue;
      const legs = r.legs.map((l) => (l.ifindex !== ifindex ? l : { ...l, flags: down ? l.flags | RTNH_F_LINKDOWN : l.flags & ~RTNH_F_LINKDOWN }));
      this.routes.set(k, { ...r, legs });
    }
  }

  /** each route as the kernel would dump it: the message NetlinkKernel scans */
  messages(filter: (r: KernelRoute) => boolean): NetlinkMessage[] {
    const w = new MessageWriter(4096);
    let n = 0;
    for (const r of this.routes.values()) {
      if (!filter(r)) continue;
      writeNewRoute(w, 0, r, 'replace', false);
      n++;
    }
    return n === 0 ? [] : splitMessages(w.take()).messages;
  }

  private check(r: KernelRoute): KernelRoute {
    if (r.nhId !== undefined) {
      if (!this.hasNexthop(r.nhId)) throw new Refusal(EINVAL, 'Nexthop id does not exist');
      return { ...r, legs: [] };
    }
    if (r.type !== RTN_UNICAST) return { ...r, legs: [] };
    const legs = r.legs.map((leg) => {
      const link = this.links.get(leg.ifindex);
      if (!link) throw new Refusal(ENODEV);
      if (!link.up) throw new Refusal(ENETDOWN, 'Nexthop device is not up');
      if (!(leg.flags & RTNH_F_ONLINK) && leg.gateway !== undefined) throw new Refusal(ENETUNREACH, 'Nexthop has invalid gateway');
      return { ...leg, flags: link.carrier ? leg.flags & ~RTNH_F_LINKDOWN : leg.flags | RTNH_F_LINKDOWN };
    });
    return { ...r, legs };
  }
}
