// How fast the ExaBGP translator turns ExaBGP 4.2 JSON into JSON-lines ops (pure, no I/O):
// updates of 500 prefixes each, every NLRI listed twice as FRR's 32-byte next hop makes
// ExaBGP do, then a neighbour down. `npm run build && node dist/bench/exabgp-translate.js`
import { parseExabgpLine } from '../src/exabgp/message.js';
import { RouteBook } from '../src/exabgp/route-book.js';

const ROUTES = Number(process.env.ROUTES ?? 200_000);
const PER_UPDATE = 500;
const PEER = 'fe80::ff:fe00:101';
const neighbour = { address: { local: 'fe80::ff:fe00:201', peer: PEER }, asn: { local: 65004, peer: 65001 }, direction: 'receive' };
const lines: string[] = [];
for (let i = 0; i < ROUTES; i += PER_UPDATE) {
  const nlri: { nlri: string }[] = [];
  for (let j = i; j < Math.min(ROUTES, i + PER_UPDATE); j++) {
    const p = { nlri: `10.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}/32` };
    nlri.push(p, p);
  }
  lines.push(JSON.stringify({ exabgp: '4.0.1', type: 'update', neighbor: { ...neighbour, message: { update: { attribute: { origin: 'igp' }, announce: { 'ipv4 unicast': { [PEER]: nlri } } } } } }));
}
const down = JSON.stringify({ exabgp: '4.0.1', type: 'state', neighbor: { ...neighbour, state: 'down' } });
const book = new RouteBook({ interfaceOf: () => ({ ok: true, value: 'h0' }), maxRoutes: 2_000_000, maxNeighbours: 16 });
const bytes = lines.reduce((n, l) => n + l.length, 0);
let t0 = performance.now();
let ops = 0;
for (const l of lines) for (const o of book.apply(parseExabgpLine(l))) ops += JSON.stringify(o).length > 0 ? 1 : 0; // serialised as the bridge does
const announceMs = performance.now() - t0;
t0 = performance.now();
const withdraws = book.apply(parseExabgpLine(down)).length;
const downMs = performance.now() - t0;
console.log(`${ROUTES} routes in ${lines.length} updates (${(bytes / 1e6).toFixed(1)} MB of ExaBGP JSON): ${ops} adds in ${announceMs.toFixed(0)} ms ` +
  `(${Math.round(ROUTES / (announceMs / 1000))} routes/s); neighbour down: ${withdraws} withdraws in ${downMs.toFixed(0)} ms`);
