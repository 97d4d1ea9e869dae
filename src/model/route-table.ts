import type { ParseResult } from './ipv4-prefix.js';
import { excerpt } from '../excerpt.js';

// Route tables: numbers, or names from iproute2's rt_tables file. The kernel's reserved
// ids are refused (reservedTable): the daemon has no business there.
export const RT_TABLE_MAIN = 254;

/**
 * Why a table id is not one the daemon may program, or undefined when it may. One answer
 * for every source and for the configuration (route-validation.ts, resolveTable).
 * 0: RT_TABLE_UNSPEC is "no table": the kernel files such a route in main, so the daemon
 *    would hold it under a key no dump ever shows.
 * 252: RT_TABLE_COMPAT is what rtm_table says for every id above 255 (the real id is in
 *    RTA_TABLE); a route really in 252 reads like one of those to old tools.
 * 253: the "default" table is consulted by the kernel's last rule (32767) for everyone's
 *    fallback routes; not ours to fill.
 * 255: the local table holds the kernel's own local and broadcast routes; a unicast route
 *    there shadows every other table, rules included.
 */
export function reservedTable(id: number): string | undefined {
  switch (id) {
    case 0: return 'is RT_TABLE_UNSPEC (no table; the kernel would file the route in main)';
    case 252: return 'is RT_TABLE_COMPAT, reserved (rtm_table of every table above 255)';
    case 253: return 'is the kernel\'s "default" table (rule 32767), reserved';
    case 255: return 'is the kernel\'s local table, which rfc5549d never programs';
    default: return undefined;
  }
}
const BUILTIN_TABLES: ReadonlyMap<string, number> = new Map([
  ['default', 253],
  ['main', 254],
  ['local', 255],
]);

export type TableNames = ReadonlyMap<string, number>;

/** Parses the text of /etc/iproute2/rt_tables ("<id> <name>" lines, # comments). */
export function parseRtTables(text: string): Map<string, number> {
  const names = new Map(BUILTIN_TABLES);
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const m = /^(0x[0-9a-f]+|\d+)\s+(\S+)$/i.exec(line);
    if (!m) continue;
    const id = Number(m[1]);
    if (Number.isSafeInteger(id) && id >= 0 && id <= 0xffffffff) names.set(m[2]!, id);
  }
  return names;
}

export function defaultTableNames(): TableNames {
  return BUILTIN_TABLES;
}

export function resolveTable(value: unknown, names: TableNames): ParseResult<number> {
  let id: number | undefined;
  if (typeof value === 'number') id = value;
  else if (typeof value === 'string') id = /^\d+$/.test(value) ? Number(value) : names.get(value);
  else return { ok: false, error: `${excerpt(value)} is not a table number or name` };
  if (id === undefined) return { ok: false, error: `${excerpt(value)} is not a table known to rt_tables` };
  if (!Number.isInteger(id) || id < 1 || id > 0xffffffff) return { ok: false, error: `${excerpt(value)} is not a table id (1 to 4294967295)` };
  const reserved = reservedTable(id);
  if (reserved) return { ok: false, error: `${excerpt(value)} ${reserved}` };
  return { ok: true, value: id };
}
