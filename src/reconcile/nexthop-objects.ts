// kernel.nexthop-objects: one kernel nexthop object per leg (a gateway out of an
// interface: a placeholder, or the peer's link-local in via mode) and one group per ECMP
// set; routes then carry only RTA_NH_ID. Ids are handed out from NH_ID_BASE up, skipping
// any id the kernel already holds, and a dump gives ours back their ids after a restart.
// Pure logic with memory: the reconciler feeds it what the kernel holds.
import { legKey } from '../kernel/forwardings.js';
import { AF_INET, AF_INET6, AF_UNSPEC, RTNH_F_ONLINK, type NexthopObject, type NexthopWrite, type RouteLeg } from '../kernel/rtnetlink-codec.js';
import { ipv4ToBytes } from '../model/ipv4-prefix.js';
import { isOurs } from '../model/ownership.js';
import type { KernelOp } from '../kernel/kernel-ops.js';

/** Far above the ids zebra hands out (it counts up from the low millions). */
export const NH_ID_BASE = 0x52350000;

export interface NexthopPlan {
  /** legs before the groups that name them, all before the routes */
  readonly adds: KernelOp[];
  /** groups before their legs, all after the routes */
  readonly deletes: KernelOp[];
}

export class NexthopObjects {
  private readonly idByKey = new Map<string, number>();
  /** the objects routes planned in this pass use */
  private readonly wanted = new Map<number, NexthopWrite>();
  private next = NH_ID_BASE;

  /** `held`: every nexthop object the kernel holds, by id (anyone's) */
  constructor(private readonly protocol: number, private readonly held: ReadonlyMap<number, NexthopObject>) {}

  /** After a dump: our objects keep their ids for the same leg or set. */
  adopt(): void {
    for (const nh of this.held.values()) {
      if (!isOurs(nh, this.protocol)) continue;
      const key = nh.group ? groupKey(nh.group.map((g) => g.id)) : legObjectKey(nh);
      if (key !== undefined && !this.idByKey.has(key)) this.idByKey.set(key, nh.id);
      if (nh.id >= this.next) this.next = nh.id + 1;
    }
  }

  /** The nexthop id a route with these legs uses: the leg's object, or the set's group. */
  idFor(legs: readonly RouteLeg[]): number {
    const { protocol } = this;
    const ids = legs.map((leg) => this.object(`leg:${legKey(leg)}`, (id) => ({ id, protocol, leg })));
    if (ids.length === 1) return ids[0]!;
    const members = [...ids].sort((a, b) => a - b);
    return this.object(groupKey(members), (id) => ({ id, protocol, group: members }));
  }

  private object(key: string, make: (id: number) => NexthopWrite): number {
    let id = this.idByKey.get(key);
    if (id === undefined) {
      while (this.held.has(this.next)) this.next++;
      id = this.next++;
      this.idByKey.set(key, id);
    }
    if (!this.wanted.has(id)) this.wanted.set(id, make(id));
    return id;
  }

  /**
   * The object writes of a pass: what its routes use and the kernel lacks (or holds
   * otherwise), and ours that no route uses any more (`routesUsing` counts the routes we
   * hold by nexthop id) and no kept group names.
   */
  plan(routesUsing: (id: number) => number): NexthopPlan {
    const legs: KernelOp[] = [];
    const groups: KernelOp[] = [];
    for (const [id, want] of this.wanted) {
      const have = this.held.get(id);
      if (have && sameObject(have, want)) continue;
      ('group' in want ? groups : legs).push({ kind: 'nh.replace', nexthop: want });
    }
    const unused = (nh: NexthopObject) => isOurs(nh, this.protocol) && !this.wanted.has(nh.id) && routesUsing(nh.id) === 0;
    const goneGroups = new Set<number>();
    for (const nh of this.held.values()) if (nh.group && unused(nh)) goneGroups.add(nh.id);
    const named = new Set<number>();
    for (const nh of this.held.values()) if (nh.group && !goneGroups.has(nh.id)) for (const g of nh.group) named.add(g.id);
    for (const want of this.wanted.values()) if ('group' in want) for (const id of want.group) named.add(id);
    const deletes: KernelOp[] = [...goneGroups].map((id) => ({ kind: 'nh.delete', id }));
    for (const nh of this.held.values()) if (!nh.group && unused(nh) && !named.has(nh.id)) deletes.push({ kind: 'nh.delete', id: nh.id });
    this.wanted.clear();
    return { adds: [...legs, ...groups], deletes };
  }
}

const groupKey = (ids: readonly number[]): string => `group:${[...ids].sort((a, b) => a - b).join('/')}`;

function legObjectKey(nh: NexthopObject): string | undefined {
  const leg = legOfObject(nh);
  return leg && `leg:${legKey(leg)}`;
}

/** A single-gateway nexthop object as the leg it stands for. */
function legOfObject(nh: NexthopObject): RouteLeg | undefined {
  if (nh.oif === undefined || !nh.gateway) return undefined;
  const flags = nh.flags & RTNH_F_ONLINK;
  return nh.gateway.length === 4 ? { ifindex: nh.oif, gateway: nh.gateway.readUInt32BE(0), flags } : { ifindex: nh.oif, via6: nh.gateway, flags };
}

function sameObject(have: NexthopObject, want: NexthopWrite): boolean {
  if ('group' in want) return !!have.group && groupKey(have.group.map((g) => g.id)) === groupKey(want.group);
  const leg = legOfObject(have);
  return !have.group && leg !== undefined && legKey(leg) === legKey(want.leg);
}

/** A nexthop object we wrote, as a dump would show it. */
export function asHeld(nh: NexthopWrite): NexthopObject {
  if ('group' in nh) return { id: nh.id, family: AF_UNSPEC, flags: 0, protocol: nh.protocol, blackhole: false, group: nh.group.map((id) => ({ id, weight: 1 })) };
  const { leg } = nh;
  const gateway = leg.via6 ?? ipv4ToBytes(leg.gateway!);
  return { id: nh.id, family: leg.via6 ? AF_INET6 : AF_INET, flags: leg.flags & RTNH_F_ONLINK, protocol: nh.protocol, blackhole: false, oif: leg.ifindex, gateway };
}
