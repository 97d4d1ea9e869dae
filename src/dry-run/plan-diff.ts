// `rfc5549d plan`: what the daemon would install, change and remove, with reasons. Pure: the
// difference between two pictures of what is ours, the real kernel's (as seeded and observed)
// and the dry run's fake after the daemon's passes.
import { numberToIpv4 } from '../model/ipv4-prefix.js';
import { linkLocalFromBytes } from '../model/link-local.js';
import { macFromBytes } from '../model/mac.js';
import {
  NUD_PERMANENT, RTN_THROW, RTN_UNICAST, RTNH_F_ONLINK, type KernelNeighbour, type KernelRoute, type KernelRule, type NexthopObject, type RouteLeg,
} from '../kernel/rtnetlink-codec.js';
import type { KernelPicture } from './kernel-picture.js';

type PlanAction = 'install' | 'change' | 'remove';
type PlanObject = 'rule' | 'neighbour' | 'nexthop' | 'route' | 'throw';

export interface PlanItem {
  readonly action: PlanAction;
  readonly object: PlanObject;
  /** the object's name, as `ip` would name it: `10.1.0.0/24 table 5549`, `169.254.0.1 dev h0`, `pref 5549 lookup 5549`, `id 7` */
  readonly key: string;
  /** routes and throws */
  readonly table?: number;
  readonly prefix?: string;
  /** what the real kernel holds there (install: null) */
  readonly kernel: string | null;
  /** what the daemon wants there (remove: null) */
  readonly want: string | null;
  readonly reason: string;
}

export interface PlanContext {
  readonly protocol: number;
  /** desired routes by routeKey(table, prefix): the source session that holds it, and why it is pending when it is */
  readonly desired: ReadonlyMap<string, { readonly source: string | null; readonly pending?: string }>;
  /** resolved peers by placeholderOwnerKey(interface, gateway) */
  readonly placeholders: ReadonlyMap<string, { readonly linkLocal: string; readonly mac: string | null; readonly evidence: string | null }>;
}

export const desiredKey = (table: number, prefix: string): string => `${table} ${prefix}`;
export const placeholderOwnerKey = (ifname: string, gateway: string): string => `${ifname} ${gateway}`;

const OBJECT_ORDER: readonly PlanObject[] = ['rule', 'neighbour', 'nexthop', 'route', 'throw'];
const TYPE_NAMES: Readonly<Record<number, string>> = { 6: 'blackhole', 7: 'unreachable', 8: 'prohibit', [RTN_THROW]: 'throw' };

/** One line: `install route 10.1.0.0/24 table 5549 via 169.254.0.1 dev h0 onlink  (desired by jsonl#1)`. */
export function formatPlanItem(i: PlanItem): string {
  const what = i.action === 'install' ? i.want : i.action === 'remove' ? i.kernel : i.key;
  return `${i.action} ${i.object} ${what ?? i.key}  (${i.reason})`;
}

export function planDiff(real: KernelPicture, fake: KernelPicture, ctx: PlanContext): PlanItem[] {
  const names = new Map<number, string>();
  for (const l of [...real.links, ...fake.links]) names.set(l.ifindex, l.name);
  const ifname = (i: number): string => names.get(i) ?? `if#${i}`;
  const ours = `ours by protocol ${ctx.protocol}`;
  const items: PlanItem[] = [];

  diff(real.routes, fake.routes, routeKey, (r) => renderRoute(r, ifname), (action, k, w, r) => {
    const prefix = `${numberToIpv4(r.dst)}/${r.dstLen}`;
    const isThrow = r.type === RTN_THROW;
    const d = ctx.desired.get(desiredKey(r.table, prefix));
    let reason: string;
    if (isThrow) {
      reason = action === 'remove' ? `${ours}; main no longer shadows a route of ours there` : 'main holds a more specific route inside one of ours: the throw keeps longest match across the two tables';
    } else if (action === 'install') {
      reason = d ? `desired by ${d.source ?? 'no source'}` : 'wanted by the reconciler (no desired route names it)';
    } else if (action === 'change') {
      reason = `kernel has ${forwarding(k!, ifname)}; want ${forwarding(w!, ifname)}${d ? `; desired by ${d.source ?? 'no source'}` : ''}`;
    } else {
      reason = !d ? `${ours}, no source wants it`
        : d.pending !== undefined ? `${ours}; desired by ${d.source ?? 'no source'} but pending: ${d.pending}`
          : `${ours}; desired by ${d.source ?? 'no source'} at another key (kernel.metric, tos)`;
    }
    const key = `${prefix} table ${r.table}${r.metric ? ` metric ${r.metric}` : ''}${r.tos ? ` tos ${r.tos}` : ''}`;
    items.push({ action, object: isThrow ? 'throw' : 'route', key, table: r.table, prefix, kernel: k ? renderRoute(k, ifname) : null, want: w ? renderRoute(w, ifname) : null, reason });
  });

  diff(real.neighbours, fake.neighbours, (n) => `${n.ifindex}/${n.dst.toString('hex')}`, (n) => renderNeighbour(n, ifname), (action, k, w, n) => {
    const gw = numberToIpv4(n.dst.readUInt32BE(0));
    const peer = ctx.placeholders.get(placeholderOwnerKey(ifname(n.ifindex), gw));
    const forPeer = peer ? `placeholder for ${peer.linkLocal}%${ifname(n.ifindex)}${peer.evidence ? `, MAC from ${peer.evidence}` : ''}` : undefined;
    const reason = action === 'remove' ? `${ours}, no route of ours names it`
      : action === 'install' ? forPeer ?? 'a placeholder a route of ours names'
        : `kernel has lladdr ${lladdr(k!)}; want ${lladdr(w!)}${forPeer ? `; ${forPeer}` : ''}`;
    items.push({ action, object: 'neighbour', key: `${gw} dev ${ifname(n.ifindex)}`, kernel: k ? renderNeighbour(k, ifname) : null, want: w ? renderNeighbour(w, ifname) : null, reason });
  });

  diff(real.rules, fake.rules, (r) => `${r.priority}/${r.table}`, renderRule, (action, k, w, r) => {
    const reason = action === 'remove' ? `${ours}, not the rule kept (kernel.rule-priority, kernel.table)` : `puts table ${r.table} ahead of main (kernel.rule-priority)`;
    items.push({ action, object: 'rule', key: renderRule(r), kernel: k ? renderRule(k) : null, want: w ? renderRule(w) : null, reason });
  });

  diff(real.nexthops, fake.nexthops, (nh) => String(nh.id), (nh) => renderNexthop(nh, ifname), (action, k, w, nh) => {
    const reason = action === 'remove' ? `${ours}, no route of ours uses it` : action === 'install' ? 'a nexthop object routes of ours use (kernel.nexthop-objects)'
      : `kernel has ${renderNexthop(k!, ifname)}; want ${renderNexthop(w!, ifname)}`;
    items.push({ action, object: 'nexthop', key: `id ${nh.id}`, kernel: k ? renderNexthop(k, ifname) : null, want: w ? renderNexthop(w, ifname) : null, reason });
  });

  return items.sort((a, b) => OBJECT_ORDER.indexOf(a.object) - OBJECT_ORDER.indexOf(b.object) || (a.table ?? 0) - (b.table ?? 0)
    || compareText(a.key, b.key) || compareText(a.action, b.action));
}

/** Pairs two lists by key; an object on both sides whose rendering differs is a change. */
function diff<T>(real: readonly T[], fake: readonly T[], key: (x: T) => string, render: (x: T) => string,
  emit: (action: PlanAction, kernel: T | undefined, want: T | undefined, either: T) => void): void {
  const byKey = new Map(real.map((x) => [key(x), x]));
  for (const w of fake) {
    const k = byKey.get(key(w));
    byKey.delete(key(w));
    if (!k) emit('install', undefined, w, w);
    else if (render(k) !== render(w)) emit('change', k, w, w);
  }
  for (const k of byKey.values()) emit('remove', k, undefined, k);
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function routeKey(r: KernelRoute): string {
  return `${r.table}/${r.dst}/${r.dstLen}/${r.tos ?? 0}/${r.metric}`;
}

function renderRoute(r: KernelRoute, ifname: (i: number) => string): string {
  const type = TYPE_NAMES[r.type];
  const head = `${type ? `${type} ` : ''}${numberToIpv4(r.dst)}/${r.dstLen} table ${r.table}${r.metric ? ` metric ${r.metric}` : ''}${r.tos ? ` tos ${r.tos}` : ''}`;
  return r.type === RTN_UNICAST ? `${head} ${forwarding(r, ifname)}` : head;
}

/** as `ip route` writes the next hops, the kernel's linkdown flag left out (not ours to set) */
function forwarding(r: KernelRoute, ifname: (i: number) => string): string {
  if (r.nhId !== undefined) return `nhid ${r.nhId}`;
  if (r.legs.length === 1) return leg(r.legs[0]!, ifname);
  return r.legs.map((l) => `nexthop ${leg(l, ifname)}`).join(' ');
}

function leg(l: RouteLeg, ifname: (i: number) => string): string {
  const via = l.via6 ? `via inet6 ${linkLocalFromBytes(l.via6)} ` : l.gateway !== undefined ? `via ${numberToIpv4(l.gateway)} ` : '';
  return `${via}dev ${ifname(l.ifindex)}${l.flags & RTNH_F_ONLINK ? ' onlink' : ''}`;
}

function lladdr(n: KernelNeighbour): string {
  return (n.lladdr && macFromBytes(n.lladdr)) ?? 'none';
}

function renderNeighbour(n: KernelNeighbour, ifname: (i: number) => string): string {
  return `${numberToIpv4(n.dst.readUInt32BE(0))} dev ${ifname(n.ifindex)} lladdr ${lladdr(n)}${n.state & NUD_PERMANENT ? ' permanent' : ''}`;
}

function renderRule(r: KernelRule): string {
  return `pref ${r.priority} lookup ${r.table}`;
}

function renderNexthop(nh: NexthopObject, ifname: (i: number) => string): string {
  if (nh.group) return `id ${nh.id} group ${nh.group.map((g) => (g.weight > 1 ? `${g.id},${g.weight}` : String(g.id))).join('/')}`;
  if (nh.blackhole) return `id ${nh.id} blackhole`;
  const gw = nh.gateway ? (nh.gateway.length === 4 ? `via ${numberToIpv4(nh.gateway.readUInt32BE(0))} ` : `via ${linkLocalFromBytes(nh.gateway)} `) : '';
  return `id ${nh.id} ${gw}${nh.oif !== undefined ? `dev ${ifname(nh.oif)}` : ''}${nh.flags & RTNH_F_ONLINK ? ' onlink' : ''}`.trimEnd();
}
