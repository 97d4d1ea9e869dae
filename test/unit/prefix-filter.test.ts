import { describe, expect, it } from 'vitest';
import { parseIpv4Prefix } from '../../src/model/ipv4-prefix.js';
import { evaluateFilter, parsePrefixRule, type PrefixFilter, type PrefixRuleInput } from '../../src/model/prefix-filter.js';

const P = (t: string) => {
  const p = parseIpv4Prefix(t);
  if (!p.ok) throw new Error(p.error);
  return p.value;
};
const filter = (defaultAction: 'accept' | 'reject', ...rules: PrefixRuleInput[]): PrefixFilter => ({
  defaultAction,
  rules: rules.map((r) => {
    const x = parsePrefixRule(r);
    if (!x.ok) throw new Error(x.error);
    return x.value;
  }),
});

describe('prefix filters (first match wins)', () => {
  it.each([
    // rule, route, matches
    [{ prefix: '10.0.0.0/8' }, '10.0.0.0/8', true],
    [{ prefix: '10.0.0.0/8' }, '10.1.0.0/16', false], // exact without ge/le
    [{ prefix: '10.0.0.0/8', le: 24 }, '10.1.0.0/16', true],
    [{ prefix: '10.0.0.0/8', le: 24 }, '10.1.1.1/32', false],
    [{ prefix: '10.0.0.0/8', ge: 24 }, '10.1.1.1/32', true],
    [{ prefix: '10.0.0.0/8', ge: 24 }, '10.1.0.0/16', false],
    [{ prefix: '10.0.0.0/8', ge: 16, le: 24 }, '10.1.1.0/24', true],
    [{ prefix: '10.0.0.0/8', le: 32 }, '11.0.0.0/8', false], // outside
    [{ prefix: '0.0.0.0/0' }, '0.0.0.0/0', true],
    [{ prefix: '0.0.0.0/0' }, '10.0.0.0/8', false],
    [{ prefix: '0.0.0.0/0', le: 32 }, '192.0.2.1/32', true],
  ])('%j against %s: %s', (rule, route, matches) => {
    const f = filter('accept', { action: 'reject', ...rule });
    expect(evaluateFilter(f, P(route)).action).toBe(matches ? 'reject' : 'accept');
  });

  it('the first matching rule decides, and names itself', () => {
    const f = filter('reject', { action: 'accept', prefix: '0.0.0.0/0' }, { action: 'reject', prefix: '0.0.0.0/0', le: 32 }, { action: 'accept', prefix: '10.0.0.0/8', le: 32 });
    expect(evaluateFilter(f, P('0.0.0.0/0'))).toMatchObject({ action: 'accept', rule: { text: 'accept 0.0.0.0/0' } });
    expect(evaluateFilter(f, P('10.1.0.0/16'))).toMatchObject({ action: 'reject', rule: { text: 'reject 0.0.0.0/0 le 32' } });
  });

  it('no rule matches: the default action', () => {
    expect(evaluateFilter(filter('reject'), P('10.0.0.0/8'))).toEqual({ action: 'reject', rule: undefined });
  });

  it.each([
    [{ prefix: '10.0.0.0/8', ge: 4 }, 'ge 4 must be between the prefix length 8 and 32'],
    [{ prefix: '10.0.0.0/8', ge: 24, le: 16 }, 'le 16 must be between 24 and 32'],
    [{ prefix: '10.0.0.1/8' }, 'host bits set'],
    [{ prefix: 'ten/8' }, 'not an IPv4 prefix'],
  ])('refuses %j: %s', (rule, message) => {
    const r = parsePrefixRule({ action: 'reject', ...rule });
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.error).toContain(message);
  });
});
