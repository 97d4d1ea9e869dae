// What the control socket answers: a plain-data view of the daemon's state. Pure: the
// status from the daemon's stats (daemon-stats.ts), the listings from a narrow view.
import type { LinkLocal } from '../model/link-local.js';
import { numberToIpv4 } from '../model/ipv4-prefix.js';
import { peerKey } from '../model/peer-key.js';
import type { DaemonStats } from './daemon-stats.js';
import type { ListingView } from './daemon-view.js';

export interface RouteStatus {
  readonly table: number;
  readonly prefix: string;
  readonly nexthops: string[];
  /** the source session that holds it ("jsonl#3", "fpm#1", "kernel-table#100"); null when refused */
  readonly source: string | null;
  /** refused: not held at all (invalid, filters, limits); the latest refusals only */
  readonly state: 'installed' | 'pending' | 'refused';
  readonly reason?: string;
}

export interface PeerStatus {
  readonly interface: string;
  readonly linkLocal: string;
  readonly mac: string | null;
  /** the placeholder gateway that stands for it (neighbor mode, once resolved) */
  readonly placeholder: string | null;
  readonly evidence: string | null;
  readonly lastRaAgoS: number | null;
  /** zebra's placeholder for this peer when its MAC is not ours (FRR issue 2205), else null */
  readonly zebraPlaceholder: { readonly gateway: string; readonly mac: string } | null;
  readonly state: 'resolved' | 'unresolved';
  readonly reason?: string;
}

export interface DaemonStatus {
  readonly version: string;
  /** `run --dry-run`: the kernel port is a fake seeded from the real kernel, nothing is written */
  readonly dryRun?: true;
  readonly uptimeS: number;
  readonly routes: {
    /** pending: as `routes --pending` lists them, routes waiting for zebra's nexthop objects included */
    desired: number; installed: number; pending: number; waitingForNexthops: number; ownedInKernel: number; otherTablesSameProtocol: number;
    maxRoutes: number; maxLegs: number; refused: { limit: number; filter: number; invalid: number };
  };
  /** our table: the rule ahead of main (null when none is kept) and the throw routes that keep longest match */
  readonly table: { id: number; rulePriority: number | null; ruleInstalled: boolean; throwRoutes: number };
  readonly reconciler: { passes: number; writes: number; repairs: number; sweeping: boolean; lastPassMs: number | null };
  readonly sources: Record<string, unknown>;
  readonly links: { name: string; ifindex: number; up: boolean }[];
}

export function routeStatuses(d: ListingView, pendingOnly: boolean): RouteStatus[] {
  const out: RouteStatus[] = [];
  for (const s of d.rib.desiredSlots()) {
    const pending = d.reconciler.pendingAt(s);
    if (pendingOnly && !pending) continue;
    const r = d.rib.routeAt(s)!;
    out.push({
      table: r.table,
      prefix: r.prefix.key,
      nexthops: r.nexthops.map((n) => (n.linkLocal === undefined ? interfaceOnly(d, n.interface) : `${n.linkLocal}%${n.interface}`)),
      source: d.rib.sessionAt(s),
      state: pending ? 'pending' : 'installed',
      ...(pending ? { reason: pending.reason } : {}),
    });
  }
  // Routes zebra named by a nexthop id that cannot be resolved are not in the RIB (nothing
  // may stay installed for them), but they are pending all the same: status counts them too.
  const fpmSession = d.fpm?.session ?? null;
  for (const p of d.fpm?.pendingRoutes() ?? []) {
    out.push({ table: p.table, prefix: p.prefix.key, nexthops: [`nhid ${p.nhId}`], source: fpmSession, state: 'pending', reason: p.reason });
  }
  for (const [key, r] of d.rib.refusals) {
    const colon = key.indexOf(':');
    out.push({ table: Number(key.slice(0, colon)), prefix: key.slice(colon + 1), nexthops: [], source: null, state: 'refused', reason: r.message });
  }
  return out.sort((a, b) => a.table - b.table || (a.prefix < b.prefix ? -1 : 1));
}

/**
 * A next hop that names only the interface (zebra's classic FPM encoding): the peer learnt
 * there, or why there is none to take.
 */
function interfaceOnly(d: ListingView, ifname: string): string {
  const ambiguous = d.reconciler.findings.ambiguousOn(ifname);
  const learnt = ambiguous ?? d.peers.learntOn(ifname);
  if (learnt.length === 1) return `${learnt[0]}%${ifname} (learnt)`;
  if (learnt.length === 0) return `?%${ifname} (no peer learnt)`;
  return `?%${ifname} (${learnt.length} peers learnt: ambiguous)`;
}

export function peerStatuses(d: ListingView, nowMs: number): PeerStatus[] {
  const seen = new Set<string>();
  const out: PeerStatus[] = [];
  const add = (ifname: string, ll: LinkLocal) => {
    const k = peerKey(ifname, ll);
    if (seen.has(k)) return;
    seen.add(k);
    const r = d.peers.resolve(ifname, ll);
    const ra = d.lastRaAt(ifname, ll);
    const zebra = d.reconciler.findings.zebraPlaceholderFor(ifname, ll);
    out.push({
      interface: ifname,
      linkLocal: ll,
      mac: r.resolved ? r.mac : null,
      placeholder: d.reconciler.placeholderOf(ifname, ll) ?? null,
      evidence: r.resolved ? r.evidence : null,
      lastRaAgoS: ra === undefined ? null : Math.round((nowMs - ra) / 1000),
      zebraPlaceholder: zebra ? { gateway: numberToIpv4(zebra.gateway), mac: zebra.zebraMac } : null,
      state: r.resolved ? 'resolved' : 'unresolved',
      ...(r.resolved ? {} : { reason: r.reason }),
    });
  };
  for (const ifname of d.rib.interfaces()) for (const ll of d.rib.peersOn(ifname).keys()) add(ifname, ll);
  for (const p of d.peers.list()) add(p.interface, p.linkLocal);
  return out.sort((a, b) => (a.interface + a.linkLocal < b.interface + b.linkLocal ? -1 : 1));
}

export function daemonStatus(s: DaemonStats): DaemonStatus {
  const { rib, reconciler: rc, table } = s;
  const waitingForNexthops = s.sources.fpm?.stats.pendingNexthopRoutes ?? 0;
  return {
    version: s.version,
    ...(s.dryRun ? { dryRun: true as const } : {}),
    uptimeS: Math.round((s.nowMs - s.startedAtMs) / 1000),
    routes: { desired: rib.desired, installed: rib.desired - rc.pending, pending: rc.pending + waitingForNexthops, waitingForNexthops, ownedInKernel: rc.ownedRoutes, otherTablesSameProtocol: rc.foreignRoutes,
      maxRoutes: rib.maxRoutes, maxLegs: rib.maxLegs,
      refused: { limit: rib.refused.LIMIT_EXCEEDED, filter: rib.refused.ROUTE_FILTERED, invalid: rib.refused.INPUT_INVALID },
    },
    table: { id: table.id, rulePriority: table.rulePriority ?? null, ruleInstalled: table.ruleInstalled, throwRoutes: table.throwRoutes },
    reconciler: { passes: rc.passes, writes: rc.writes, repairs: rc.repairs, sweeping: rc.sweeping, lastPassMs: rc.lastPass ? Math.round(rc.lastPass.durationMs * 10) / 10 : null },
    sources: sourcesJson(s),
    links: s.links.map((l) => ({ name: l.name, ifindex: l.ifindex, up: l.up })),
  };
}

/** each enabled source as status has always shown it: its stats and whether it has synced */
function sourcesJson(s: DaemonStats): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const { jsonl, fpm, gobgp, kernelTable } = s.sources;
  if (jsonl) out.jsonl = { ...jsonl.stats, synced: jsonl.synced };
  if (fpm) out.fpm = { ...fpm.stats, synced: fpm.synced };
  if (gobgp) out.gobgp = { ...gobgp.stats, synced: gobgp.synced };
  if (kernelTable) out['kernel-table'] = { ...kernelTable.stats, synced: kernelTable.synced };
  if (s.ra) out.ra = s.ra;
  return out;
}
