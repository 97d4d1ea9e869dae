// `rfc5549d plan` as a human reads it: one line per kernel write, with its reason. Pure.
import type { PlanAnswer } from '../dry-run/dry-run.js';
import { formatPlanItem } from '../dry-run/plan-diff.js';

export function formatPlan(p: PlanAnswer): string {
  const { install, change, remove, pending } = p.counts;
  const lines = [`plan: ${install} to install, ${change} to change, ${remove} to remove; ${pending} routes pending`];
  if (!p.sweepAllowed) lines.push('(sources not synced yet: leftovers of ours are judged once they have, or after graceful.stale-time)');
  for (const i of p.items) lines.push(formatPlanItem(i));
  for (const r of p.pending) lines.push(`pending route ${r.prefix} table ${r.table} ${r.nexthops.join(' ')}  (${r.source ?? 'no source'}: ${r.reason})`);
  if (p.unlisted.items + p.unlisted.pending > 0) lines.push(`… and ${p.unlisted.items} items and ${p.unlisted.pending} pending routes more, counted above but not listed`);
  if (p.items.length === 0 && p.pending.length === 0) lines.push('nothing to write: the kernel holds what the sources want');
  return lines.join('\n');
}
