// The JSON-lines wire format, pure: one line in, one RouteUpdate or one error naming
// the field and the value out. The socket server lives in jsonl-server.ts.
import { parseInterfaceName } from '../model/interface-name.js';
import { parseIpv4Prefix } from '../model/ipv4-prefix.js';
import { parseLinkLocal } from '../model/link-local.js';
import { resolveTable, type TableNames } from '../model/route-table.js';
import { errorMessage } from '../errors.js';
import { escapeText, excerpt } from '../excerpt.js';
import { jsonDepthExcess } from './json-depth.js';
import { parseCanonicalLine, type FastLineCache } from './jsonl-fast.js';
import { MAX_LEGS_CEILING } from '../rib/route-validation.js';
import { sortNexthops, type PeerNexthop, type RouteUpdate } from '../rib/route.js';

/**
 * `ack` asks for one reply line `{"ack":<its line number>}`, written once every line before
 * it has been handled (and any error reply for them written): a client that must know its
 * lines were taken (the `rfc5549d add` CLI) waits for it. Clients that never send it get
 * no reply for a good line, as before.
 */
type JsonlLine = RouteUpdate | { readonly op: 'ack' };

/** A refusal names the field (`op`, `nexthops[2].via`, `line` for the line as a whole). */
export type LineResult = { ok: true; update: JsonlLine } | { ok: false; field: string; error: string };

export interface JsonlContext {
  readonly defaultTable: number;
  readonly tables: TableNames;
  /** the table of the VRF device with this name, as the kernel has it now */
  vrfTable(name: string): number | undefined;
}

// The schema's ceiling for limits.max-legs: Rib.add refuses what passes this but exceeds the
// configured limit, with the same words for every source (route-validation.ts).
const MAX_NEXTHOPS = MAX_LEGS_CEILING;
/** A valid line nests 3 levels ({"nexthops":[{…}]}); deeper is refused before JSON.parse. */
export const MAX_JSON_DEPTH = 8;

// A Map, not an object literal: `"constructor" in {}` is true, and an op named after an
// Object.prototype member must be an unknown op, not a lookup of a prototype function.
const FIELDS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['add', new Set(['op', 'prefix', 'nexthops', 'table', 'vrf'])],
  ['withdraw', new Set(['op', 'prefix', 'table', 'vrf'])],
  ['sync-begin', new Set(['op'])],
  ['sync-end', new Set(['op'])],
  ['ack', new Set(['op'])],
]);
const NEXTHOP_FIELDS: ReadonlySet<string> = new Set(['via', 'dev']);

const fail = (field: string, problem: string): LineResult => ({ ok: false, field, error: `${field}: ${problem}` });
/** the line as a whole is not an object: the message names no field (as it always has) */
const failLine = (problem: string): LineResult => ({ ok: false, field: 'line', error: problem });
/** The value as a bounded, escaped excerpt; "missing" for an absent field. */
const show = (v: unknown): string => (v === undefined ? 'missing' : excerpt(v));
/** An own property only: JSON.parse makes plain objects, whose prototype must never answer. */
const own = (o: Record<string, unknown>, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);

/** `fast`: a connection's cache for the canonical-line fast path (jsonl-fast.ts); the result is the same without it */
export function parseJsonLine(line: string, ctx: JsonlContext, fast?: FastLineCache): LineResult {
  if (fast) {
    const update = parseCanonicalLine(line, ctx.defaultTable, fast);
    if (update) return { ok: true, update };
  }
  const deep = jsonDepthExcess(line, MAX_JSON_DEPTH);
  if (deep !== undefined) {
    return fail(deep.key === undefined ? 'line' : escapeText(deep.key, 64), `nested deeper than ${MAX_JSON_DEPTH} levels (at character ${deep.at})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch (err) {
    return failLine(`invalid JSON: ${escapeText(errorMessage(err))}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return failLine(`a line must be a JSON object, got ${show(doc)}`);
  const o = doc as Record<string, unknown>;
  const op = own(o, 'op');
  const allowed = typeof op === 'string' ? FIELDS.get(op) : undefined;
  if (typeof op !== 'string' || allowed === undefined) {
    return fail('op', `unknown op ${show(op)} (expected add, withdraw, sync-begin, sync-end or ack)`);
  }
  const unknown = Object.keys(o).find((k) => !allowed.has(k));
  if (unknown !== undefined) return fail(escapeText(unknown, 64), `unknown field for op ${show(op)} (value ${show(o[unknown])})`);
  if (op === 'sync-begin' || op === 'sync-end' || op === 'ack') return { ok: true, update: { op } };

  const prefixText = own(o, 'prefix');
  if (typeof prefixText !== 'string') return fail('prefix', `expected a string like "10.1.0.0/24", got ${show(prefixText)}`);
  const prefix = parseIpv4Prefix(prefixText);
  if (!prefix.ok) return fail('prefix', prefix.error);
  const tableField = own(o, 'table');
  const vrfField = own(o, 'vrf');
  let table = ctx.defaultTable;
  let vrf: string | undefined;
  if (tableField !== undefined && vrfField !== undefined) return fail('vrf', `give "table" or "vrf", not both (vrf ${show(vrfField)}, table ${show(tableField)})`);
  if (tableField !== undefined) {
    const t = resolveTable(tableField, ctx.tables);
    if (!t.ok) return fail('table', t.error);
    table = t.value;
  } else if (vrfField !== undefined) {
    if (typeof vrfField !== 'string' || !parseInterfaceName(vrfField).ok) return fail('vrf', `expected a VRF device name, got ${show(vrfField)}`);
    const t = ctx.vrfTable(vrfField);
    if (t === undefined) return fail('vrf', `no VRF device named ${show(vrfField)} (ip -d link show type vrf)`);
    table = t;
    vrf = vrfField;
  }
  if (op === 'withdraw') return { ok: true, update: vrf === undefined ? { op, table, prefix: prefix.value } : { op, table, prefix: prefix.value, vrf } };

  const legs = own(o, 'nexthops');
  if (!Array.isArray(legs) || legs.length === 0) {
    return fail('nexthops', `expected a non-empty array of {"via","dev"}, got ${show(legs)}`);
  }
  if (legs.length > MAX_NEXTHOPS) return fail('nexthops', `${legs.length} next hops, more than limits.max-legs can ever allow (${MAX_NEXTHOPS})`);
  const nexthops: PeerNexthop[] = [];
  for (const [i, nh] of legs.entries()) {
    const at = `nexthops[${i}]`;
    if (nh === null || typeof nh !== 'object' || Array.isArray(nh)) return fail(at, `expected an object {"via","dev"}, got ${show(nh)}`);
    const n = nh as Record<string, unknown>;
    const extra = Object.keys(n).find((k) => !NEXTHOP_FIELDS.has(k));
    if (extra !== undefined) return fail(`${at}.${escapeText(extra, 64)}`, `unknown field (value ${show(n[extra])})`);
    const viaText = own(n, 'via');
    if (typeof viaText !== 'string') return fail(`${at}.via`, `expected an IPv6 link-local string, got ${show(viaText)}`);
    const via = parseLinkLocal(viaText);
    if (!via.ok) return fail(`${at}.via`, via.error);
    const devText = own(n, 'dev');
    if (typeof devText !== 'string') return fail(`${at}.dev`, `expected an interface name, got ${show(devText)}`);
    const dev = parseInterfaceName(devText);
    if (!dev.ok) return fail(`${at}.dev`, dev.error);
    if (nexthops.some((p) => p.interface === dev.value && p.linkLocal === via.value)) {
      return fail(at, `duplicates an earlier next hop (${via.value} dev ${dev.value})`);
    }
    nexthops.push({ interface: dev.value, linkLocal: via.value });
  }
  const route = { table, prefix: prefix.value, nexthops: sortNexthops(nexthops) };
  return { ok: true, update: vrf === undefined ? { op: 'add', route } : { op: 'add', route, vrf } };
}
