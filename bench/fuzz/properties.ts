// What every source must hand the RIB, whatever it was fed: the checks the shared route
// validation is meant to make (issue 12), applied to the output of each parser.
import { maskOf } from '../../src/model/ipv4-prefix.js';
import type { Ipv4Prefix } from '../../src/model/ipv4-prefix.js';
import { Rib } from '../../src/rib/rib.js';
import { RouteStore } from '../../src/rib/route-store.js';
import type { DesiredRoute } from '../../src/rib/route.js';
import { PropertyViolation } from './harness.js';

/** JSON lines' cap today; the issue asks for limits.max-legs no higher than what the kernel dumps. */
const MAX_LEGS = 256;
/** An error names the field and a bounded excerpt of the value, not the whole value. */
const MAX_ERROR_CHARS = 1024;

// tab and newline are layout; the rest (ESC, CR, BEL, NUL, C1 …) can rewrite a terminal
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/**
 * A sink into a fresh RIB, the one place every source's routes go through: a route it takes
 * (not 'refused') must pass checkRoute, whichever layer (source or RIB) does the validating.
 */
export function checkingRib(source: string): { add(session: string, r: DesiredRoute): void; withdraw(table: number, prefix: Ipv4Prefix): void } {
  // made on first use and small: most inputs never reach the RIB, and a default one costs 0.2 ms
  let rib: Rib | undefined;
  const made = (): Rib => (rib ??= new Rib(new RouteStore(16)));
  return {
    add: (session, r) => {
      const taken = made().add(session, r) !== 'refused';
      // the RIB's own leg cap where it has one (limits.max-legs), else JSON lines' 256
      if (taken) checkRoute(r, source, (made().policy as unknown as { maxLegs?: number }).maxLegs ?? MAX_LEGS);
    },
    withdraw: (table, prefix) => {
      made().withdraw(table, prefix);
    },
  };
}

function checkRoute(r: DesiredRoute, source: string, maxLegs = MAX_LEGS): void {
  const bad = (what: string): never => {
    throw new PropertyViolation(`${source}-route-invalid`, `${what} (route ${r.table}:${r.prefix.key}, ${r.nexthops.length} legs)`, what.replace(/\d+/g, 'N'));
  };
  if (!Number.isInteger(r.table) || r.table < 1 || r.table > 0xffffffff) bad(`table ${r.table} reached the RIB`);
  if (r.table === 255) bad('table 255 (the kernel\'s local table) reached the RIB');
  const { addr, len } = r.prefix;
  if (!Number.isInteger(len) || len < 0 || len > 32) bad(`prefix length ${len} reached the RIB`);
  else if (((addr & ~maskOf(len)) >>> 0) !== 0) bad('prefix with host bits set reached the RIB');
  if (r.nexthops.length === 0) bad('route without next hops reached the RIB');
  if (r.nexthops.length > maxLegs) bad(`route with ${r.nexthops.length} legs (over ${maxLegs}) reached the RIB`);
  const seen = new Set<string>();
  for (const n of r.nexthops) {
    if (typeof n.interface !== 'string' || n.interface.length === 0 || n.interface.length > 15) bad(`interface name ${JSON.stringify(n.interface)}`);
    if (n.linkLocal !== undefined && !/^fe[89ab][0-9a-f]:/.test(n.linkLocal)) bad(`next hop ${n.linkLocal} is not link-local`);
    const k = `${n.interface}%${n.linkLocal ?? ''}`;
    if (seen.has(k)) bad(`duplicate next hop ${k}`);
    seen.add(k);
  }
}

export function checkErrorText(text: string, property: string, opts: { maxChars?: number; controls?: boolean } = {}): void {
  const max = opts.maxChars ?? MAX_ERROR_CHARS;
  // the field the message names, so the summary says which checks echo too much
  // which message it is, without the field's own name or the value: "<field>: unknown field for op"
  const field = text.split('\n')[0]!.replace(/^[^:]*: /, '<field>: ').split(/["({[]| got | at line /)[0]!.replace(/\d+/g, 'N').trim().slice(0, 60);
  if (text.length > max) throw new PropertyViolation(`${property}-unbounded`, `error text of ${text.length} characters (over ${max}): ${JSON.stringify(text.slice(0, 120))}…`, field);
  if (opts.controls && CONTROL.test(text)) {
    throw new PropertyViolation(`${property}-control-bytes`, `error text carries raw control characters: ${JSON.stringify(text.slice(0, 200))}`, field);
  }
}
