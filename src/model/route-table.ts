import type { ParseResult } from './ipv4-prefix.js';
import { excerpt } from '../excerpt.js';

// Route tables: numbers, or names from iproute2's rt_tables file. 0 (unspec) and
// 255 (local) are refused: the daemon has no business there.
export const RT_TABLE_MAIN = 254;
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
  if (id === 255) return { ok: false, error: `${excerpt(value)} is the kernel's local table, which rfc5549d never programs` };
  return { ok: true, value: id };
}
