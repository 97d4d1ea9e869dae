import { describe, expect, it } from 'vitest';
import { parseRouterAdvert, routerSolicitation } from '../../src/ra/router-advert.js';

const LL = Buffer.from('fe800000000000005c3a91d21e2b7d01', 'hex');
const GLOBAL = Buffer.from('20010db8000000000000000000000001', 'hex');

/** An RA as radvd sends it: header, then options (type, length in 8-octet units, data). */
function ra(options: number[][] = [[1, 1, 0x02, 0, 0, 0, 1, 1]], code = 0): Buffer {
  const header = [134, code, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  return Buffer.from([...header, ...options.flat()]);
}

describe('router advertisement parsing', () => {
  it('accepts a valid RA and reads the source link-layer option', () => {
    expect(parseRouterAdvert(ra(), LL, 255)).toEqual({ ok: true, sourceMac: '02:00:00:00:01:01', routerLifetimeS: 0 });
    expect(parseRouterAdvert(ra([[5, 1, 0, 0, 0, 0, 5, 220], [1, 1, 2, 0, 0, 0, 1, 1]]), LL, -1)).toMatchObject({ ok: true, sourceMac: '02:00:00:00:01:01' });
    expect(parseRouterAdvert(ra([]), LL, 255)).toEqual({ ok: true, sourceMac: undefined, routerLifetimeS: 0 });
  });

  it.each([
    ['hop limit below 255', ra(), LL, 254, 'hop-limit'],
    ['a global source', ra(), GLOBAL, 255, 'source-not-link-local'],
    ['another ICMPv6 type', Buffer.from([135, 0, 0, 0]), LL, 255, 'not-an-ra'],
    ['a non-zero code', ra(undefined, 1), LL, 255, 'not-an-ra'],
    ['a truncated header', ra().subarray(0, 12), LL, 255, 'truncated'],
    ['a zero-length option', ra([[1, 0, 2, 0, 0, 0, 1, 1]]), LL, 255, 'bad-option-length'],
    ['an option running past the end', ra([[1, 2, 2, 0, 0, 0, 1, 1]]), LL, 255, 'truncated'],
    ['half an option header', Buffer.concat([ra([]), Buffer.from([1])]), LL, 255, 'truncated'],
    ['a multicast source MAC', ra([[1, 1, 0x01, 0, 0x5e, 0, 0, 1]]), LL, 255, 'bad-source-mac'],
    ['a 16-byte link-layer option', ra([[1, 2, 2, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]]), LL, 255, 'bad-option-length'],
  ])('refuses %s', (_name, icmp, src, hop, reason) => {
    expect(parseRouterAdvert(icmp, src as Buffer, hop)).toEqual({ ok: false, reason });
  });

  it('never throws on random bytes', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
    for (let i = 0; i < 20_000; i++) {
      const b = Buffer.from(Array.from({ length: rnd() % 64 }, rnd));
      if (b.length > 0 && i % 2 === 0) b[0] = 134;
      expect(() => parseRouterAdvert(b, LL, 255)).not.toThrow();
    }
  });

  it('builds a router solicitation with our MAC', () => {
    expect(routerSolicitation(Buffer.from([2, 0, 0, 0, 2, 1])).toString('hex')).toBe('85000000000000000101020000000201');
  });
});
