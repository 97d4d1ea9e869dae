// Placeholder numbering per (interface, peer): first come .1, then .2 ...; kept across passes
// and restarts; never a fight with another writer.
import { describe, expect, it } from 'vitest';
import type { LinkLocal } from '../../src/model/link-local.js';
import type { Mac } from '../../src/model/mac.js';
import { GatewayPool, type HeldPlaceholder } from '../../src/reconcile/gateway-pool.js';

const G1 = 0xa9fe0001;
const A = { linkLocal: 'fe80::a' as LinkLocal, mac: '02:00:00:00:00:0a' as Mac };
const B = { linkLocal: 'fe80::b' as LinkLocal, mac: '02:00:00:00:00:0b' as Mac };
const C = { linkLocal: 'fe80::c' as LinkLocal, mac: '02:00:00:00:00:0c' as Mac };
const pool = () => new GatewayPool(G1, 254, '169.254.0.0/24');
const held = (gateway: number, mac: Mac | undefined, ours = true, permanent = true): HeldPlaceholder => ({ gateway, mac, ours, permanent });

/** last octet per peer, or the failure text */
function octets(m: ReadonlyMap<LinkLocal, { ok: boolean; gateway?: number; reason?: string }>): Record<string, number | string> {
  return Object.fromEntries([...m].map(([ll, c]) => [ll, c.ok ? c.gateway! - G1 + 1 : c.reason!]));
}

describe('gateway pool', () => {
  it('numbers a fresh segment in link-local order from .1', () => {
    expect(octets(pool().assign(2, [C, A, B], []))).toEqual({ 'fe80::a': 1, 'fe80::b': 2, 'fe80::c': 3 });
  });

  it('keeps a peer on its gateway when a lower link-local joins, and when another leaves', () => {
    const p = pool();
    p.assign(2, [B], []);
    expect(octets(p.assign(2, [A, B], [held(G1, B.mac)]))).toEqual({ 'fe80::a': 2, 'fe80::b': 1 });
    expect(p.endPass()).toBe(true);
    expect(octets(p.assign(2, [A], [held(G1, B.mac), held(G1 + 1, A.mac)]))).toEqual({ 'fe80::a': 2 });
    // B left, its placeholder is still there (routes may use it): C does not get .1 yet
    expect(octets(p.assign(2, [A, C], [held(G1, B.mac), held(G1 + 1, A.mac)]))).toEqual({ 'fe80::a': 2, 'fe80::c': 3 });
    expect(octets(p.assign(2, [A, C], [held(G1 + 1, A.mac), held(G1 + 2, C.mac)]))).toEqual({ 'fe80::a': 2, 'fe80::c': 3 });
  });

  it('after a restart takes back by MAC what the kernel holds, and rewrites ours whose MAC changed', () => {
    expect(octets(pool().assign(2, [A, B], [held(G1, B.mac), held(G1 + 1, A.mac)]))).toEqual({ 'fe80::a': 2, 'fe80::b': 1 });
    const changed = { ...A, mac: '02:00:00:00:00:aa' as Mac };
    expect(octets(pool().assign(2, [changed, B], [held(G1, B.mac), held(G1 + 5, A.mac)]))).toEqual({ 'fe80::a': 6, 'fe80::b': 1 });
  });

  it('shares a foreign placeholder with the same MAC, avoids one with another, and moves off one taken over', () => {
    const p = pool();
    expect(octets(p.assign(2, [A, B], [held(G1, B.mac, false)]))).toEqual({ 'fe80::a': 2, 'fe80::b': 1 });
    // zebra rewrites .1 with A's MAC (FRR issue 8668): B moves, A stays
    expect(octets(p.assign(2, [A, B], [held(G1, A.mac, false), held(G1 + 1, A.mac)]))).toEqual({ 'fe80::a': 2, 'fe80::b': 3 });
    // a failed ARP entry at .1 is not an owner
    expect(octets(pool().assign(2, [A], [held(G1, undefined, false, false)]))).toEqual({ 'fe80::a': 1 });
  });

  it('says which peer found the pool full', () => {
    const small = new GatewayPool(G1, 2, '169.254.0.0/30');
    expect(octets(small.assign(2, [A, B, C], []))).toEqual({ 'fe80::a': 1, 'fe80::b': 2, 'fe80::c': 'gateway pool 169.254.0.0/30 has no free address left for peer fe80::c' });
  });

  it('forgets interfaces a pass did not look at, but not ones kept while their link is down', () => {
    const p = pool();
    p.assign(2, [B], []);
    p.assign(3, [B], []);
    p.endPass();
    p.assign(2, [A, B], []);
    p.keep(3);
    p.endPass();
    expect(octets(p.assign(3, [A, B], []))).toEqual({ 'fe80::a': 2, 'fe80::b': 1 });
    expect(p.endPass()).toBe(true);
    expect(octets(p.assign(2, [A, B], []))).toEqual({ 'fe80::a': 1, 'fe80::b': 2 });
  });
});
