// Human-readable tables for the CLI, pure (the --json output is the control answer as is).
import type { DaemonStatus, PeerStatus, RouteStatus } from '../status/snapshot.js';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

export function formatRoutes(routes: RouteStatus[]): string {
  if (routes.length === 0) return 'no routes';
  return table([
    ['TABLE', 'PREFIX', 'STATE', 'SOURCE', 'NEXT HOPS', 'REASON'],
    ...routes.map((r) => [String(r.table), r.prefix, r.state, r.source ?? '-', r.nexthops.join(' '), r.reason ?? '']),
  ]);
}

export function formatPeers(peers: PeerStatus[]): string {
  if (peers.length === 0) return 'no peers';
  return table([
    ['INTERFACE', 'LINK-LOCAL', 'MAC', 'PLACEHOLDER', 'EVIDENCE', 'LAST RA', 'ZEBRA PLACEHOLDER', 'STATE'],
    ...peers.map((p) => [
      p.interface, p.linkLocal, p.mac ?? '-', p.placeholder ?? '-', p.evidence ?? '-', p.lastRaAgoS === null ? '-' : `${p.lastRaAgoS}s ago`,
      p.zebraPlaceholder ? `${p.zebraPlaceholder.gateway} ${p.zebraPlaceholder.mac} (wrong MAC)` : '-',
      p.reason ? `${p.state}: ${p.reason}` : p.state,
    ]),
  ]);
}

export function formatStatus(s: DaemonStatus): string {
  const lines = [
    `rfc5549d ${s.version}, up ${s.uptimeS}s${s.dryRun ? ', DRY RUN: nothing is written to the kernel (rfc5549d plan shows what would be)' : ''}`,
    `routes: ${s.routes.desired} desired, ${s.routes.installed} installed, ${s.routes.pending} pending`
      + (s.routes.waitingForNexthops > 0 ? ` (${s.routes.waitingForNexthops} from zebra waiting for nexthop objects)` : '')
      + `, ${s.routes.ownedInKernel} owned in the kernel`
      + (s.routes.otherTablesSameProtocol > 0 ? `; ${s.routes.otherTablesSameProtocol} of our protocol in tables not ours (left alone)` : ''),
    `table: ${s.table.id}, ${s.table.rulePriority === null ? 'no rule kept' : `rule pref ${s.table.rulePriority} ${s.table.ruleInstalled ? 'installed' : 'MISSING'}`}, ${s.table.throwRoutes} throw routes (main's more-specifics)`,
    `limits: max-routes ${s.routes.maxRoutes}, max-legs ${s.routes.maxLegs}; refused so far: ${s.routes.refused.limit} over a limit, ${s.routes.refused.filter} by filters, ${s.routes.refused.invalid} invalid`,
    `reconciler: ${s.reconciler.passes} passes, ${s.reconciler.writes} writes, ${s.reconciler.repairs} repairs, last pass ${s.reconciler.lastPassMs ?? '-'} ms${s.reconciler.sweeping ? '' : ', start-up grace (no sweep yet)'}`,
    `links: ${s.links.map((l) => `${l.name}(${l.up ? 'up' : 'down'})`).join(' ') || 'none'}`,
  ];
  for (const [name, v] of Object.entries(s.sources)) lines.push(`${name}: ${JSON.stringify(v)}`);
  return lines.join('\n');
}
