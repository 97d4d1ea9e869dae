import { describe, expect, it } from 'vitest';
import { escapeText, excerpt } from '../../src/excerpt.js';

const deep = (n: number): unknown => JSON.parse(`${'['.repeat(n)}${']'.repeat(n)}`);

describe('excerpt', () => {
  it('renders small values exactly as JSON.stringify does', () => {
    for (const v of ['blue', 10, 1.5, true, null, [], {}, [1, 2], { a: 'b', c: [1, { d: null }] }, 'é😀', 'a"b\\c']) {
      expect(excerpt(v)).toBe(JSON.stringify(v));
    }
  });

  it('never throws, and stays bounded, on values nested thousands of levels deep', () => {
    const v = deep(10_000);
    expect(() => JSON.stringify(v)).toThrow(RangeError); // what the messages used to do
    const e = excerpt(v);
    expect(e.length).toBeLessThanOrEqual(121);
    expect(e.startsWith('[[[[[[')).toBe(true);
    const o: Record<string, unknown> = {};
    let cur = o;
    for (let i = 0; i < 10_000; i++) cur = (cur.a = {});
    expect(excerpt(o).length).toBeLessThanOrEqual(121);
  });

  it('caps long strings, arrays and objects, marking the cut', () => {
    const e = excerpt('x'.repeat(1_000_000));
    expect(e.length).toBeLessThanOrEqual(121);
    expect(e).toMatch(/^"x+…/);
    expect(excerpt(Array.from({ length: 100_000 }, (_, i) => i))).toMatch(/^\[0,1,2,.*…$/);
    expect(excerpt('abcdef', 4)).toBe('"abc…');
  });

  it('escapes control bytes, DEL, C1, bidi overrides, separators and lone surrogates', () => {
    const e = excerpt('\u001b[31mred\u0007\u007f\u009b\u202e\u2028\ud800');
    expect(e).toBe('"\\u001b[31mred\\u0007\\u007f\\u009b\\u202e\\u2028\\ud800"');
    expect(excerpt({ '\u001b[2J': 1 })).toBe('{"\\u001b[2J":1}');
    expect(escapeText('a\nb\u001b')).toBe('a\\nb\\u001b');
    expect(escapeText('y'.repeat(10_000), 50)).toHaveLength(51);
  });

  it('takes only own properties and survives hostile objects', () => {
    const proto = JSON.parse('{"__proto__":{"x":1},"constructor":"toString"}') as unknown;
    expect(excerpt(proto)).toBe('{"__proto__":{"x":1},"constructor":"toString"}');
    const hostile = { get boom(): never { throw new Error('getter'); } };
    expect(excerpt(hostile)).toBe('{"boom":?');
    expect(excerpt(Buffer.from('hi'))).toBe('<Buffer 2 bytes>');
  });
});
