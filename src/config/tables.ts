// The tables the configuration names: the one the daemon writes (kernel.table), the
// preference of its rule, and the tables read as a source (sources.kernel.tables).
import { resolveTable, RT_TABLE_MAIN, type TableNames } from '../model/route-table.js';
import type { ConfigProblem } from './problems.js';

/** The kernel's own rules (`ip rule show` on a fresh namespace): a rule of ours must not sit at their preference. */
const KERNEL_RULE_PRIORITIES: ReadonlyMap<number, string> = new Map([
  [0, 'preference 0 is the kernel\'s "lookup local" rule'],
  [32766, 'preference 32766 is the kernel\'s "lookup main" rule'],
  [32767, 'preference 32767 is the kernel\'s "lookup default" rule'],
]);

/** 0 unspec, 253 default, 254 main, 255 local: tables the kernel forwards from or means itself */
const RESERVED_SOURCE_TABLES = new Set([0, 253, 254, 255]);

export interface WriteTable {
  /** main when kernel.table did not resolve (a problem is then reported) */
  readonly table: number;
  readonly resolved: boolean;
  /** undefined: no rule (rule-priority null, or the table is main) */
  readonly rulePriority: number | undefined;
}

/** kernel.table and kernel.rule-priority. */
export function writeTable(value: number | string, rulePriority: number | null, names: TableNames, problems: ConfigProblem[]): WriteTable {
  const t = resolveTable(value, names);
  if (!t.ok) problems.push({ path: 'kernel.table', value, message: t.error });
  if (rulePriority !== null && KERNEL_RULE_PRIORITIES.has(rulePriority)) {
    problems.push({ path: 'kernel.rule-priority', value: rulePriority, message: `${KERNEL_RULE_PRIORITIES.get(rulePriority)}; choose another (1-32765), or null for no rule` });
  }
  const table = t.ok ? t.value : RT_TABLE_MAIN;
  // main is looked up by the kernel's own rule: a rule of ours for it would only duplicate that
  return { table, resolved: t.ok, rulePriority: rulePriority === null || (t.ok && table === RT_TABLE_MAIN) ? undefined : rulePriority };
}

/**
 * sources.kernel.tables: read, never written. A table the daemon writes (kernel.table) would
 * feed our own routes back to us; main, default and local are forwarded from, so the
 * speaker's own routes there already forward and ours would only sit beside them.
 */
export function kernelSourceTables(values: readonly (number | string)[], names: TableNames, writeTable: number | undefined, problems: ConfigProblem[]): number[] {
  const out: number[] = [];
  values.forEach((v, i) => {
    const path = `sources.kernel.tables.${i}`;
    const t = resolveTable(v, names);
    if (!t.ok) problems.push({ path, value: v, message: t.error });
    else if (RESERVED_SOURCE_TABLES.has(t.value)) problems.push({ path, value: v, message: 'must not be 0, 253 (default), 254 (main) or 255 (local): a source table is one nobody forwards from' });
    else if (t.value === writeTable) problems.push({ path, value: v, message: `is kernel.table (${writeTable}), the table the daemon writes; sources.kernel.tables must name tables it only reads` });
    else if (out.includes(t.value)) problems.push({ path, value: v, message: `table ${t.value} is named twice` });
    else out.push(t.value);
  });
  return out;
}
