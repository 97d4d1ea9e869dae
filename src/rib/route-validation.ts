// The checks every route passes before the RIB takes it, whatever its source (FPM, JSON
// lines, a reload, any later source): Rib.add runs them, so no source can skip them and
// all answer with the same codes and words. Pure.
import { maskOf, numberToIpv4, type Ipv4Prefix } from '../model/ipv4-prefix.js';
import { reservedTable } from '../model/route-table.js';
import type { Refusal } from './refusal.js';
import type { DesiredRoute } from './route.js';

/**
 * The highest limits.max-legs the schema takes. Measured on kernel 6.18 (docs/configuration.md,
 * "How long a route may be"): a multipath route whose RTM_NEWROUTE does not fit one dump
 * buffer (about 3.7 KB) is accepted by the kernel and then left out of every dump, ours and
 * `ip route show`, without an error. Neighbor-mode legs (rtnexthop + RTA_GATEWAY, 16 bytes)
 * dump up to 232 and via-mode legs (rtnexthop + RTA_VIA, 32 bytes) up to 116; a route by
 * nexthop id is dumped with its legs inline, so the same counts hold there. A route we cannot
 * see in a dump looks lost to the reconciler (re-written, or its placeholders swept), so no
 * setting may come near it: 8 legs are kept as a margin for attributes a kernel may add.
 */
export const MAX_LEGS_CEILING = 224;

/** The highest limits.max-legs with kernel.mode via (measured 116, less the same margin). */
export const MAX_VIA_LEGS = 108;

/** The default: well below the smallest measured count (via mode, 116). */
export const DEFAULT_MAX_LEGS = 64;

function legCountRefusal(legs: number, maxLegs: number): string {
  return `nexthops: ${legs} next hops, more than limits.max-legs (${maxLegs}): the kernel would hold a route it cannot dump`;
}

/** undefined when the route may enter the RIB; else why not, naming the field and value. */
export function validateRoute(route: DesiredRoute, maxLegs: number): Refusal | undefined {
  const { table, prefix, nexthops } = route;
  if (!Number.isInteger(table) || table < 0 || table > 0xffffffff) return invalid(`table: ${String(table)} is not a table id (1 to 4294967295)`);
  const reserved = reservedTable(table);
  if (reserved) return invalid(`table: ${table} ${reserved}`);
  const p = prefixProblem(prefix);
  if (p) return invalid(p);
  if (nexthops.length === 0) return invalid(`nexthops: none for prefix "${prefix.key}"`);
  if (nexthops.length > maxLegs) return { code: 'LIMIT_EXCEEDED', message: `prefix "${prefix.key}": ${legCountRefusal(nexthops.length, maxLegs)}` };
  return undefined;
}

function prefixProblem(prefix: Ipv4Prefix): string | undefined {
  const { addr, len } = prefix;
  if (!Number.isInteger(len) || len < 0 || len > 32) return `prefix: length ${String(len)} of "${prefix.key}" is not 0 to 32`;
  if (!Number.isInteger(addr) || addr < 0 || addr > 0xffffffff) return `prefix: address of "${prefix.key}" is not an IPv4 address`;
  const network = (addr & maskOf(len)) >>> 0;
  if (network !== addr) return `prefix: "${numberToIpv4(addr)}/${len}" has host bits set (did you mean ${numberToIpv4(network)}/${len}?)`;
  return undefined;
}

const invalid = (message: string): Refusal => ({ code: 'INPUT_INVALID', message });
