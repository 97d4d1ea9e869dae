// The RIB's epoch column is 32 bits: it is renumbered before it wraps. A RIB that renumbers
// every few writes must answer exactly as one that never does.
import { describe, expect, it } from 'vitest';
import { makePrefix } from '../../src/model/ipv4-prefix.js';
import type { LinkLocal } from '../../src/model/link-local.js';
import { Rib } from '../../src/rib/rib.js';
import { RouteStore } from '../../src/rib/route-store.js';
import { xorshift32 } from '../helpers/seeded-random.js';

const PEERS = ['fe80::1', 'fe80::2'] as LinkLocal[];
const SOURCES = ['fpm', 'jsonl', 'gobgp'];

describe('RIB epochs', () => {
  it('replays withdraw the same routes whether or not the epochs were renumbered meanwhile (20,000 random steps)', () => {
    const next = xorshift32(11);
    const small = new Rib(new RouteStore(16), 7);
    const plain = new Rib(new RouteStore(16));
    const both = <T>(f: (rib: Rib) => T): T => {
      const a = f(small);
      expect(f(plain)).toEqual(a);
      return a;
    };
    let replayEnds = 0;
    let withdrawnByReplays = 0;
    for (let step = 0; step < 20_000; step++) {
      const source = SOURCES[next() % SOURCES.length]!;
      const prefix = makePrefix(((10 << 24) | ((next() % 200) << 8)) >>> 0, 24);
      const op = next() % 100;
      const session = `${source}#${1 + (next() % 2)}`;
      if (op < 60) both((r) => r.add(session, { table: 254, prefix, nexthops: [{ interface: 'h0', linkLocal: PEERS[step % 2]! }] }));
      else if (op < 80) both((r) => r.withdraw(254, prefix));
      else if (op < 90) both((r) => r.beginReplay(source));
      else {
        const n = both((r) => r.endReplay(source, (s) => s.startsWith(`${source}#`)));
        if (n !== undefined) {
          replayEnds++;
          withdrawnByReplays += n;
        }
      }
    }
    expect([...small.keys()]).toEqual([...plain.keys()]);
    // the comparison meant something: replays ended and withdrew
    expect(replayEnds).toBeGreaterThan(100);
    expect(withdrawnByReplays).toBeGreaterThan(100);
  });
});
