// The JSON-lines wire format, pure: one line in, one RouteUpdate or one error naming
// the field and the value out. The socket server lives in jsonl-server.ts.
import { parseInterfaceName } from '../model/interface-name.js';
import { parseIpv4Prefix } from '../model/ipv4-prefix.js';
import { parseLinkLocal } from '../model/link-local.js';
import { resolveTable, type TableNames } from '../model/route-table.js';
import { sortNexthops, type PeerNexthop, type RouteUpdate } from '../rib/route.js';

/**
 * `ack` asks for one reply line `{"ack":<its line number>}`, written once every line before
 * it has been handled (and any error reply for them written): a client that must know its
 * lines were taken (the `rfc5549d add` CLI) waits for it. Clients that never send it get
 * no reply for a good line, as before.
 */
export type JsonlLine = RouteUpdate | { readonly op: 'ack' };

export type LineResult = { ok: true; update: JsonlLine } | { ok: false; error: string };

export interface JsonlContext {
  readonly defaultTable: number;
  readonly tables: TableNames;
  /** the table of the VRF device with this name, as the kernel has it now */
  vrfTable(name: string): number | undefined;
}

const MAX_NEXTHOPS = 256;

const FIELDS: Record<string, readonly string[]> = {
  add: ['op', 'prefix', 'nexthops', 'table', 'vrf'],
  withdraw: ['op', 'prefix', 'table', 'vrf'],
  'sync-begin': ['op'],
  'sync-end': ['op'],
  ack: ['op'],
};

const fail = (error: string): LineResult => ({ ok: false, error });
const show = (v: unknown): string => (v === undefined ? 'missing' : JSON.stringify(v));

export function parseJsonLine(line: string, ctx: JsonlContext): LineResult {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch (err) {
    return fail(`invalid JSON: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return fail(`a line must be a JSON object, got ${show(doc)}`);
  const o = doc as Record<string, unknown>;
  const op = o.op;
  if (typeof op !== 'string' || !(op in FIELDS)) {
    return fail(`op: unknown op ${show(op)} (expected add, withdraw, sync-begin, sync-end or ack)`);
  }
  const allowed = FIELDS[op]!;
  const unknown = Object.keys(o).find((k) => !allowed.includes(k));
  if (unknown !== undefined) return fail(`${unknown}: unknown field for op "${op}" (value ${show(o[unknown])})`);
  if (op === 'sync-begin' || op === 'sync-end' || op === 'ack') return { ok: true, update: { op } };

  if (typeof o.prefix !== 'string') return fail(`prefix: expected a string like "10.1.0.0/24", got ${show(o.prefix)}`);
  const prefix = parseIpv4Prefix(o.prefix);
  if (!prefix.ok) return fail(`prefix: ${prefix.error}`);
  let table = ctx.defaultTable;
  let vrf: string | undefined;
  if (o.table !== undefined && o.vrf !== undefined) return fail(`vrf: give "table" or "vrf", not both (vrf ${show(o.vrf)}, table ${show(o.table)})`);
  if (o.table !== undefined) {
    const t = resolveTable(o.table, ctx.tables);
    if (!t.ok) return fail(`table: ${t.error}`);
    table = t.value;
  } else if (o.vrf !== undefined) {
    if (typeof o.vrf !== 'string' || !parseInterfaceName(o.vrf).ok) return fail(`vrf: expected a VRF device name, got ${show(o.vrf)}`);
    const t = ctx.vrfTable(o.vrf);
    if (t === undefined) return fail(`vrf: no VRF device named ${show(o.vrf)} (ip -d link show type vrf)`);
    table = t;
    vrf = o.vrf;
  }
  if (op === 'withdraw') return { ok: true, update: vrf === undefined ? { op, table, prefix: prefix.value } : { op, table, prefix: prefix.value, vrf } };

  if (!Array.isArray(o.nexthops) || o.nexthops.length === 0) {
    return fail(`nexthops: expected a non-empty array of {"via","dev"}, got ${show(o.nexthops)}`);
  }
  if (o.nexthops.length > MAX_NEXTHOPS) return fail(`nexthops: ${o.nexthops.length} next hops, at most ${MAX_NEXTHOPS}`);
  const nexthops: PeerNexthop[] = [];
  for (const [i, nh] of o.nexthops.entries()) {
    const at = `nexthops[${i}]`;
    if (nh === null || typeof nh !== 'object' || Array.isArray(nh)) return fail(`${at}: expected an object {"via","dev"}, got ${show(nh)}`);
    const n = nh as Record<string, unknown>;
    const extra = Object.keys(n).find((k) => k !== 'via' && k !== 'dev');
    if (extra !== undefined) return fail(`${at}.${extra}: unknown field (value ${show(n[extra])})`);
    if (typeof n.via !== 'string') return fail(`${at}.via: expected an IPv6 link-local string, got ${show(n.via)}`);
    const via = parseLinkLocal(n.via);
    if (!via.ok) return fail(`${at}.via: ${via.error}`);
    if (typeof n.dev !== 'string') return fail(`${at}.dev: expected an interface name, got ${show(n.dev)}`);
    const dev = parseInterfaceName(n.dev);
    if (!dev.ok) return fail(`${at}.dev: ${dev.error}`);
    if (nexthops.some((p) => p.interface === dev.value && p.linkLocal === via.value)) {
      return fail(`${at}: duplicates an earlier next hop (${via.value} dev ${dev.value})`);
    }
    nexthops.push({ interface: dev.value, linkLocal: via.value });
  }
  const route = { table, prefix: prefix.value, nexthops: sortNexthops(nexthops) };
  return { ok: true, update: vrf === undefined ? { op: 'add', route } : { op: 'add', route, vrf } };
}
