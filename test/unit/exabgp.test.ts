// The ExaBGP translator: captured ExaBGP 4.2.21 JSON (test/fixtures/exabgp/) and the next-hop
// forms a 32-byte MP_REACH next hop takes in its output, through to the JSON-lines ops.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds, parseExabgpLine, type ExabgpEvent, type NeighbourId } from '../../src/exabgp/message.js';
import { interfaceFor, parseNeighbourArgs } from '../../src/exabgp/neighbour-map.js';
import { RouteBook, type JsonlOp, type RouteBookOptions } from '../../src/exabgp/route-book.js';

const FIXTURE = new URL('../fixtures/exabgp/updates.jsonl', import.meta.url);
const lines = readFileSync(FIXTURE, 'utf8').split('\n').filter((l) => l.trim() !== '');

const PEER = 'fe80::ff:fe00:101';
const LOCAL = 'fe80::ff:fe00:201';
const NB: NeighbourId = { local: LOCAL, peer: PEER };

function book(opts: Partial<RouteBookOptions> = {}): RouteBook {
  const map = new Map([[PEER, 'h0'], ['fe80::ff:fe00:301', 'h1']]);
  return new RouteBook({ interfaceOf: (n) => interfaceFor(n, map, () => []), maxRoutes: 1000, maxNeighbours: 16, ...opts });
}

/** An update line as ExaBGP 4.2 writes it, for the forms the lab did not capture. */
function update(message: object, neighbour: NeighbourId = NB): string {
  return JSON.stringify({ exabgp: '4.0.1', time: 1, host: 'vm', pid: 1, ppid: 1, counter: 1, type: 'update', neighbor: { address: neighbour, asn: { local: 65004, peer: 65001 }, direction: 'receive', message: { update: message } } });
}
const state = (s: string, neighbour: NeighbourId = NB) => JSON.stringify({ exabgp: '4.0.1', time: 1, type: 'state', neighbor: { address: neighbour, asn: { local: 1, peer: 2 }, state: s } });
const add = (prefix: string, ...nh: [string, string][]): JsonlOp => ({ op: 'add', prefix, nexthops: nh.map(([via, dev]) => ({ via, dev })) });
const withdraw = (prefix: string): JsonlOp => ({ op: 'withdraw', prefix });
const sortOps = (ops: JsonlOp[]) => [...ops].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe('captured ExaBGP 4.2 session (FRR peer, 32-byte next hop, MED change, shutdown and back)', () => {
  it('turns each message into the ops a user expects, duplicates removed', () => {
    const b = book();
    const ops = lines.map((l) => sortOps(b.apply(parseExabgpLine(l))));
    expect(ops).toEqual([
      [], // connected
      [], // up
      [add('10.99.1.1/32', [PEER, 'h0']), add('10.99.2.0/24', [PEER, 'h0'])],
      [add('10.99.3.0/24', [PEER, 'h0'])],
      [withdraw('10.99.3.0/24')],
      [], // MED 77: the same route for the kernel
      [withdraw('10.99.1.1/32'), withdraw('10.99.2.0/24')], // neighbor p0 shutdown: state down
      [], // connected
      [], // up
      [add('10.99.1.1/32', [PEER, 'h0'])],
      [add('10.99.2.0/24', [PEER, 'h0'])],
    ]);
    expect(b.counters).toMatchObject({ messages: 11, invalid: 0, neighbourDowns: 1, refused: 0 });
    expect(b.routesHeld).toBe(2);
  });

  it('reads the NLRI listed twice under one link-local as one next hop', () => {
    const ev = parseExabgpLine(lines[2]!);
    expect(ev.kind).toBe('update');
    const u = ev as Extract<ExabgpEvent, { kind: 'update' }>;
    expect(u.announced).toEqual([
      { prefix: '10.99.1.1/32', pathId: '', nexthops: [PEER] },
      { prefix: '10.99.2.0/24', pathId: '', nexthops: [PEER] },
    ]);
    expect(u.neighbour).toEqual(NB);
  });

  it('a reconnect replay holds exactly what was sent, inside sync-begin/sync-end', () => {
    const b = book();
    for (const l of lines.slice(0, 4)) b.apply(parseExabgpLine(l));
    const r = b.replay();
    expect(r[0]).toEqual({ op: 'sync-begin' });
    expect(r.at(-1)).toEqual({ op: 'sync-end' });
    expect(sortOps(r.slice(1, -1))).toEqual([add('10.99.1.1/32', [PEER, 'h0']), add('10.99.2.0/24', [PEER, 'h0']), add('10.99.3.0/24', [PEER, 'h0'])]);
    expect(sortOps(b.current())).toEqual(sortOps(r.slice(1, -1)));
  });
});

describe('captured [global, link-local] next hop (a global address on the peer\'s interface), ExaBGP shutdown', () => {
  const captured = readFileSync(new URL('../fixtures/exabgp/global-ll.jsonl', import.meta.url), 'utf8').split('\n').filter((l) => l.trim() !== '');
  it('takes the link-local, never the global; the shutdown notification withdraws what is left', () => {
    const b = book();
    const ops = captured.map((l) => sortOps(b.apply(parseExabgpLine(l))));
    expect(ops).toEqual([
      [],
      [],
      [add('10.99.1.1/32', [PEER, 'h0']), add('10.99.2.0/24', [PEER, 'h0'])],
      [add('10.99.3.0/24', [PEER, 'h0'])],
      [withdraw('10.99.3.0/24')],
      [withdraw('10.99.1.1/32'), withdraw('10.99.2.0/24')], // neighbor p0 shutdown
      [], // ExaBGP's SIGTERM: nothing left to withdraw
    ]);
    expect(b.counters.unusable).toEqual({});
  });
  it('ExaBGP shutting down with routes held withdraws them all', () => {
    const b = book();
    const ops = [captured[2]!, captured[6]!].map((l) => sortOps(b.apply(parseExabgpLine(l))));
    expect(ops[1]).toEqual([withdraw('10.99.1.1/32'), withdraw('10.99.2.0/24')]);
  });
});

describe('next-hop forms of a 32-byte next hop in ExaBGP 4.2 JSON', () => {
  const P = { nlri: '10.1.0.0/24' };
  it('[global, LL]: listed under both; the link-local is taken', () => {
    const ops = book().apply(parseExabgpLine(update({ announce: { 'ipv4 unicast': { '2001:db8::1': [P], [PEER]: [P] } } })));
    expect(ops).toEqual([add('10.1.0.0/24', [PEER, 'h0'])]);
  });
  it('[::, LL] (GoBGP and others): "::" is dropped', () => {
    const ops = book().apply(parseExabgpLine(update({ announce: { 'ipv4 unicast': { '::': [P], [PEER]: [P] } } })));
    expect(ops).toEqual([add('10.1.0.0/24', [PEER, 'h0'])]);
  });
  it('a 16-byte link-local alone, in upper case and uncompressed: canonical form', () => {
    const ops = book().apply(parseExabgpLine(update({ announce: { 'ipv4 unicast': { 'FE80:0:0:0:0:FF:FE00:101': [P] } } })));
    expect(ops).toEqual([add('10.1.0.0/24', [PEER, 'h0'])]);
  });
  it('a global or IPv4 next hop only: not usable, counted, and it replaces (withdraws) the earlier path', () => {
    const b = book();
    b.apply(parseExabgpLine(update({ announce: { 'ipv4 unicast': { [PEER]: [P] } } })));
    const ops = b.apply(parseExabgpLine(update({ announce: { 'ipv4 unicast': { '2001:db8::1': [P], '192.0.2.1': [P] } } })));
    expect(ops).toEqual([withdraw('10.1.0.0/24')]);
    expect(b.counters.unusable).toEqual({ 'next hop not an IPv6 link-local': 1 });
    expect(b.notes.some((n) => n.text.includes('"2001:db8::1", "192.0.2.1" is not an IPv6 link-local'))).toBe(true);
  });
  it('api.compact prefixes (bare strings) and add-path ids', () => {
    const b = book();
    const ops = b.apply(parseExabgpLine(update({ announce: { 'ipv4 unicast': { [PEER]: ['10.2.0.0/16', { nlri: '10.3.0.0/16', 'path-information': '0.0.0.1' }, { nlri: '10.3.0.0/16', 'path-information': '0.0.0.2' }] } } })));
    expect(sortOps(ops)).toEqual([add('10.2.0.0/16', [PEER, 'h0']), add('10.3.0.0/16', [PEER, 'h0'])]);
    expect(b.routesHeld).toBe(3);
    // one path of two withdrawn: the route stays
    expect(b.apply(parseExabgpLine(update({ withdraw: { 'ipv4 unicast': [{ nlri: '10.3.0.0/16', 'path-information': '0.0.0.1' }] } })))).toEqual([]);
    expect(b.apply(parseExabgpLine(update({ withdraw: { 'ipv4 unicast': [{ nlri: '10.3.0.0/16', 'path-information': '0.0.0.2' }] } })))).toEqual([withdraw('10.3.0.0/16')]);
  });
  it('other families are counted and ignored; an EOR changes nothing', () => {
    const b = book();
    expect(b.apply(parseExabgpLine(update({ announce: { 'ipv6 unicast': { [PEER]: [{ nlri: '2001:db8::/32' }] } } })))).toEqual([]);
    expect(b.counters.otherFamilies).toBe(1);
    const eor = JSON.stringify({ type: 'update', neighbor: { address: NB, direction: 'receive', message: { eor: { afi: 'ipv4', safi: 'unicast' } } } });
    expect(parseExabgpLine(eor)).toEqual({ kind: 'eor', neighbour: NB });
  });
});

describe('neighbours', () => {
  const NB2: NeighbourId = { local: 'fe80::ff:fe00:202', peer: 'fe80::ff:fe00:301' };
  const ann = (prefix: string, peer: string, n: NeighbourId) => update({ announce: { 'ipv4 unicast': { [peer]: [{ nlri: prefix }] } } }, n);

  it('the same prefix from two neighbours is one ECMP route; one going down leaves the other', () => {
    const b = book();
    b.apply(parseExabgpLine(ann('10.9.0.0/24', PEER, NB)));
    expect(b.apply(parseExabgpLine(ann('10.9.0.0/24', NB2.peer, NB2)))).toEqual([add('10.9.0.0/24', [NB2.peer, 'h1'], [PEER, 'h0'])].map((o) => ({ ...o, nexthops: [...(o as unknown as { nexthops: object[] }).nexthops].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))) })));
    expect(b.apply(parseExabgpLine(state('down', NB)))).toEqual([add('10.9.0.0/24', [NB2.peer, 'h1'])]);
    expect(b.apply(parseExabgpLine(state('down', NB2)))).toEqual([withdraw('10.9.0.0/24')]);
  });

  it('ExaBGP shutting down withdraws everything', () => {
    const b = book();
    b.apply(parseExabgpLine(ann('10.9.0.0/24', PEER, NB)));
    b.apply(parseExabgpLine(ann('10.8.0.0/24', NB2.peer, NB2)));
    const ops = b.apply(parseExabgpLine('{ "exabgp": "4.0.1", "time": 1.0, "host" : "vm", "pid" : 1, "ppid" : 1, "type": "notification", "notification": "shutdown" }'));
    expect(sortOps(ops)).toEqual([withdraw('10.8.0.0/24'), withdraw('10.9.0.0/24')]);
    expect(b.routesHeld).toBe(0);
  });

  it('a neighbour with no interface: its routes are refused with the reason, nothing sent', () => {
    const b = book();
    const stranger: NeighbourId = { local: 'fe80::9', peer: 'fe80::8' };
    expect(b.apply(parseExabgpLine(ann('10.9.0.0/24', 'fe80::8', stranger)))).toEqual([]);
    expect(b.counters.unusable).toEqual({ 'no interface for the neighbour': 1 });
    expect(b.notes.at(-1)!.text).toContain('give --neighbor fe80::8=IFNAME');
  });

  it('--table puts the table on every op', () => {
    const b = book({ table: 1000 });
    expect(b.apply(parseExabgpLine(ann('10.9.0.0/24', PEER, NB)))).toEqual([{ ...add('10.9.0.0/24', [PEER, 'h0']), table: 1000 }]);
    expect(b.apply(parseExabgpLine(state('down')))).toEqual([{ op: 'withdraw', prefix: '10.9.0.0/24', table: 1000 }]);
  });

  it('limits: routes beyond max-routes and neighbours beyond max-neighbours are refused and counted', () => {
    const b = book({ maxRoutes: 2, maxNeighbours: 1 });
    const ops = b.apply(parseExabgpLine(update({ announce: { 'ipv4 unicast': { [PEER]: ['10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24'] } } })));
    expect(ops).toHaveLength(2);
    expect(b.counters.refused).toBe(1);
    expect(b.apply(parseExabgpLine(ann('10.9.0.0/24', NB2.peer, NB2)))).toEqual([]);
    expect(b.counters.refused).toBe(2);
    // a withdrawal frees room
    b.apply(parseExabgpLine(update({ withdraw: { 'ipv4 unicast': ['10.0.1.0/24'] } })));
    expect(b.apply(parseExabgpLine(update({ announce: { 'ipv4 unicast': { [PEER]: ['10.0.3.0/24'] } } })))).toHaveLength(1);
  });

  it('--neighbor: by peer, by local address, by the interface holding the local address', () => {
    const m = parseNeighbourArgs(['fe80::FF:FE00:101%h0=h0', 'fe80::ff:fe00:202=h1']);
    expect(m.ok).toBe(true);
    if (!m.ok) return;
    expect(interfaceFor(NB, m.value, () => [])).toEqual({ ok: true, value: 'h0' });
    expect(interfaceFor({ local: 'fe80::ff:fe00:202', peer: 'fe80::1' }, m.value, () => [])).toEqual({ ok: true, value: 'h1' });
    expect(interfaceFor({ local: 'fe80::5', peer: 'fe80::1' }, m.value, (a) => (a === 'fe80::5' ? ['eth3'] : []))).toEqual({ ok: true, value: 'eth3' });
    const two = interfaceFor({ local: 'fe80::5', peer: 'fe80::1' }, m.value, () => ['eth3', 'eth4']);
    expect(two.ok === false && two.error).toContain('is on eth3, eth4');
  });

  it('--neighbor refuses bad values, naming them', () => {
    expect(parseNeighbourArgs(['fe80::1'])).toEqual({ ok: false, error: '--neighbor: expected ADDRESS=IFNAME, got "fe80::1"' });
    const long = parseNeighbourArgs(['fe80::1=waytoolonginterfacename']);
    expect(long.ok === false && long.error).toContain('not a valid interface name');
    expect(parseNeighbourArgs(['fe80::1=h0', 'fe80::1=h1'])).toEqual({ ok: false, error: '--neighbor: fe80::1 is given twice (h0 and h1)' });
    const junk = parseNeighbourArgs([`${'x'.repeat(500)}=h0`]);
    expect(junk.ok === false && junk.error.length).toBeLessThan(200);
  });
});

describe('hostile ExaBGP output', () => {
  it('text lines, bad JSON, wrong shapes: invalid with a bounded message, never a throw', () => {
    for (const bad of ['done', 'error', '', '[]', 'null', '{"type": 5}', '{"type":"update"}', '{"type":"state","neighbor":{"address":{"local":1,"peer":"x"}}}',
      `{"type":"update","neighbor":{"address":{"local":"a","peer":"b"},"message":{"update":{"announce":{"ipv4 unicast":[1,2]}}}}}`]) {
      const ev = parseExabgpLine(bad);
      expect(['invalid', 'update'], bad).toContain(ev.kind);
      if (ev.kind === 'invalid') expect(ev.error.length).toBeLessThan(300);
      if (ev.kind === 'update') expect(ev.problems.length).toBeGreaterThan(0);
    }
    const huge = parseExabgpLine(JSON.stringify({ type: 'state', neighbor: { address: { local: 'x'.repeat(100000), peer: 'y' }, state: 'down' } }));
    expect(huge.kind === 'invalid' && huge.error.length).toBeLessThan(300);
  });

  it('nesting past the depth cap is refused before parsing; brackets inside strings do not count', () => {
    expect(parseExabgpLine('['.repeat(1_000_000))).toEqual({ kind: 'invalid', error: 'message nests deeper than 32' });
    expect(jsonDepthExceeds(JSON.stringify({ a: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["\\' }), 32)).toBe(false);
    expect(jsonDepthExceeds('{"a":{"b":[1]}}', 2)).toBe(true);
    expect(jsonDepthExceeds('{"a":{"b":[1]}}', 3)).toBe(false);
  });

  it('bad prefixes and next hops inside a good update are reported; the rest goes through', () => {
    const b = book();
    const ops = b.apply(parseExabgpLine(update({ announce: { 'ipv4 unicast': { [PEER]: ['10.1.0.1/24', '300.0.0.0/8', { nlri: 7 }, '10.5.0.0/16'] } }, withdraw: { 'ipv4 unicast': [{ nlri: 'nope' }] } })));
    expect(ops).toEqual([add('10.5.0.0/16', [PEER, 'h0'])]);
    expect(b.counters.invalid).toBe(1);
    expect(b.notes.map((n) => n.text).join('\n')).toMatch(/host bits set[\s\S]*invalid IPv4 address[\s\S]*expected a prefix string, got 7[\s\S]*"nope"/);
  });

  it('message types are counted by name, at most 32 names, "__proto__" included', () => {
    const b = book();
    for (let i = 0; i < 100; i++) b.apply(parseExabgpLine(JSON.stringify({ type: `t${i}` })));
    b.apply(parseExabgpLine('{"type":"__proto__"}'));
    expect(Object.keys(b.counters.ignored)).toHaveLength(33);
    expect(b.counters.ignored.other).toBe(69);
  });

  it('every truncation and byte flip of the captured lines parses or is refused, and the book survives it', () => {
    const b = book();
    for (const l of lines) {
      for (let cut = 0; cut < l.length; cut += 7) b.apply(parseExabgpLine(l.slice(0, cut)));
      for (let at = 0; at < l.length; at += 11) b.apply(parseExabgpLine(`${l.slice(0, at)}${'"{}[]:,0x'[at % 9]}${l.slice(at + 1)}`));
    }
    expect(b.counters.messages).toBeGreaterThan(1000);
    expect(b.routesHeld).toBeLessThanOrEqual(1000);
  });
});
