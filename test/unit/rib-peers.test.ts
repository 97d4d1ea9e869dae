import { describe, expect, it } from 'vitest';
import { parseIpv4Prefix, type Ipv4Prefix } from '../../src/model/ipv4-prefix.js';
import type { LinkLocal } from '../../src/model/link-local.js';
import type { Mac } from '../../src/model/mac.js';
import { PeerTable } from '../../src/peers/peer-table.js';
import { Rib } from '../../src/rib/rib.js';

const P = (s: string): Ipv4Prefix => {
  const r = parseIpv4Prefix(s);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};
const A = 'fe80::ff:fe00:101' as LinkLocal;
const B = 'fe80::2' as LinkLocal;
const route = (p: string, ll = A, dev = 'h0') => ({ table: 254, prefix: P(p), nexthops: [{ interface: dev, linkLocal: ll }] });

describe('RIB', () => {
  it('adds, replaces, withdraws and counts peers per interface', () => {
    const rib = new Rib();
    const changed: string[] = [];
    rib.changes.add((s) => changed.push(rib.keyOf(s)));
    expect(rib.add('s#1', route('10.0.0.0/24'))).toBe('added');
    expect(rib.add('s#1', route('10.0.0.0/24'))).toBe('unchanged');
    expect(rib.add('s#1', route('10.0.0.0/24', B))).toBe('changed');
    expect(rib.add('s#1', route('10.0.1.0/24', B))).toBe('added');
    expect([...rib.peersOn('h0')]).toEqual([[B, 2]]);
    expect(rib.withdraw(254, P('10.0.0.0/24'))).toBe('withdrawn');
    expect(rib.withdraw(254, P('10.0.0.0/24'))).toBe('absent');
    expect(changed).toEqual(['254:10.0.0.0/24', '254:10.0.0.0/24', '254:10.0.1.0/24', '254:10.0.0.0/24']);
    expect([...rib.peersOn('h0')]).toEqual([[B, 1]]);
  });

  it('a replay withdraws what was not re-sent, and only that source\'s entries', () => {
    const rib = new Rib();
    rib.add('jsonl#1', route('10.0.0.0/24'));
    rib.add('jsonl#1', route('10.0.1.0/24'));
    rib.add('fpm#1', route('10.0.2.0/24'));
    rib.beginReplay('jsonl');
    rib.add('jsonl#2', route('10.0.1.0/24'));
    expect(rib.endReplay('jsonl', (s) => s.startsWith('jsonl#'))).toBe(1);
    expect([...rib.keys()].sort()).toEqual(['254:10.0.1.0/24', '254:10.0.2.0/24']);
    expect(rib.endReplay('jsonl', () => true)).toBeUndefined();
  });

  it('withdraws a session\'s routes on request', () => {
    const rib = new Rib();
    rib.add('jsonl#1', route('10.0.0.0/24'));
    rib.add('jsonl#2', route('10.0.1.0/24'));
    expect(rib.withdrawSession('jsonl#1')).toBe(1);
    expect([...rib.keys()]).toEqual(['254:10.0.1.0/24']);
    expect([...rib.interfaces()]).toEqual(['h0']);
  });
});

describe('peer evidence', () => {
  it('learnt peers are one per MAC: a peer that changed its link-local is not two peers', () => {
    const t = new PeerTable();
    const mac = '02:00:00:00:01:02' as Mac;
    const oldLl = 'fe80::ff:fe00:102' as LinkLocal;
    const newLl = 'fe80::1234:5678:9abc:def0' as LinkLocal;
    t.observe('h1', oldLl, { mac, evidence: 'ra', atMs: 1000 });
    t.observe('h1', newLl, { mac, evidence: 'ra', atMs: 5000 });
    expect(t.learntOn('h1')).toEqual([newLl]);
    // another MAC on the same segment is another neighbour: both count (ambiguous for classic FPM)
    t.observe('h1', 'fe80::2' as LinkLocal, { mac: '02:00:00:00:09:09' as Mac, evidence: 'ra', atMs: 6000 });
    expect(t.learntOn('h1').sort()).toEqual(['fe80::2', newLl].sort());
  });

  const mac = (s: string) => s as Mac;
  it('EUI-64 alone resolves; the wire overrides it; the newest wire evidence wins', () => {
    const peers = new PeerTable();
    expect(peers.resolve('h0', A)).toEqual({ resolved: true, mac: '02:00:00:00:01:01', evidence: 'eui64', contradictsEui64: false });
    expect(peers.observe('h0', A, { mac: mac('02:00:00:00:01:01'), evidence: 'ndp', atMs: 1 })).toBe(true);
    expect(peers.resolve('h0', A)).toMatchObject({ evidence: 'ndp', contradictsEui64: false });
    peers.observe('h0', A, { mac: mac('52:54:00:00:00:01'), evidence: 'ra', atMs: 2 });
    expect(peers.resolve('h0', A)).toMatchObject({ mac: '52:54:00:00:00:01', evidence: 'ra', contradictsEui64: true });
    peers.observe('h0', A, { mac: mac('52:54:00:00:00:02'), evidence: 'ndp', atMs: 3 });
    expect(peers.resolve('h0', A)).toMatchObject({ mac: '52:54:00:00:00:02', evidence: 'ndp' });
  });

  it('a non-EUI-64 peer without evidence is unresolved, per interface', () => {
    const peers = new PeerTable();
    expect(peers.resolve('h0', B)).toMatchObject({ resolved: false, reason: expect.stringContaining('not EUI-64') });
    peers.observe('h1', B, { mac: mac('52:54:00:00:00:01'), evidence: 'ndp', atMs: 1 });
    expect(peers.resolve('h0', B).resolved).toBe(false);
    expect(peers.resolve('h1', B).resolved).toBe(true);
    expect(peers.observe('h1', B, { mac: mac('52:54:00:00:00:01'), evidence: 'ndp', atMs: 2 })).toBe(false);
  });
});

import { RepairBackoff } from '../../src/reconcile/repair-backoff.js';

describe('repair backoff', () => {
  it('allows a burst, then doubles the delay, logs once per episode, and forgets after a quiet window', () => {
    let t = 0;
    const b = new RepairBackoff(() => t, 3, 10_000, 1_000, 4_000);
    expect([1, 2, 3].map(() => b.request('k').allowed)).toEqual([true, true, true]);
    expect(b.request('k')).toEqual({ allowed: false, episodeStarted: true, retryAtMs: 1_000 });
    expect(b.request('k')).toMatchObject({ allowed: false, episodeStarted: false });
    t = 1_000;
    expect([1, 2, 3].map(() => b.request('k').allowed)).toEqual([true, true, true]);
    expect(b.request('k')).toEqual({ allowed: false, episodeStarted: false, retryAtMs: 3_000 });
    t = 3_000;
    [1, 2, 3].forEach(() => b.request('k'));
    expect(b.request('k').retryAtMs).toBe(7_000); // capped at 4 s
    expect(b.request('other').allowed).toBe(true);
    t = 30_000;
    b.prune();
    expect(b.size).toBe(0);
    expect(b.request('k').allowed).toBe(true);
  });
});
