// Prefix lists as routing suites write them: `prefix P/len [ge G] [le L]`, first match wins.
// Without ge/le a rule matches P/len exactly; `le L` matches lengths len..L inside P;
// `ge G` matches G..32; both give G..L (FRR's and BIRD's reading).
import { maskOf, parseIpv4Prefix, type Ipv4Prefix, type ParseResult } from './ipv4-prefix.js';

export type FilterAction = 'accept' | 'reject';

export interface PrefixRule {
  readonly action: FilterAction;
  readonly prefix: Ipv4Prefix;
  readonly minLen: number;
  readonly maxLen: number;
  /** the rule as written, for error messages */
  readonly text: string;
}

export interface PrefixFilter {
  readonly defaultAction: FilterAction;
  readonly rules: readonly PrefixRule[];
}

export interface PrefixRuleInput {
  readonly action: FilterAction;
  readonly prefix: string;
  readonly ge?: number | undefined;
  readonly le?: number | undefined;
}

export function parsePrefixRule(r: PrefixRuleInput): ParseResult<PrefixRule> {
  const p = parseIpv4Prefix(r.prefix);
  if (!p.ok) return p;
  const len = p.value.len;
  const minLen = r.ge ?? len;
  const maxLen = r.le ?? (r.ge !== undefined ? 32 : len);
  if (minLen < len || minLen > 32) return { ok: false, error: `ge ${minLen} must be between the prefix length ${len} and 32` };
  if (maxLen < minLen || maxLen > 32) return { ok: false, error: `le ${maxLen} must be between ${minLen} and 32` };
  const text = `${r.action} ${p.value.key}${r.ge !== undefined ? ` ge ${r.ge}` : ''}${r.le !== undefined ? ` le ${r.le}` : ''}`;
  return { ok: true, value: { action: r.action, prefix: p.value, minLen, maxLen, text } };
}

function ruleMatches(rule: PrefixRule, route: Ipv4Prefix): boolean {
  if (route.len < rule.minLen || route.len > rule.maxLen) return false;
  const mask = maskOf(rule.prefix.len);
  return ((route.addr & mask) >>> 0) === rule.prefix.addr;
}

/** The verdict for a route prefix, and the rule that decided it (undefined: the default). */
export function evaluateFilter(filter: PrefixFilter, route: Ipv4Prefix): { action: FilterAction; rule: PrefixRule | undefined } {
  const rule = matchingRule(filter, route);
  return rule ? { action: rule.action, rule } : { action: filter.defaultAction, rule: undefined };
}

/** the first rule that matches, or undefined (the default applies): no object per route */
export function matchingRule(filter: PrefixFilter, route: Ipv4Prefix): PrefixRule | undefined {
  const { rules } = filter;
  for (let i = 0; i < rules.length; i++) if (ruleMatches(rules[i]!, route)) return rules[i];
  return undefined;
}
