// What the RIB may take: prefix filters, limits.max-routes and limits.max-legs. Pure.
import type { Ipv4Prefix } from '../model/ipv4-prefix.js';
import { matchingRule, type PrefixFilter } from '../model/prefix-filter.js';
import type { Refusal } from './refusal.js';
import { DEFAULT_MAX_LEGS } from './route-validation.js';

export class RoutePolicy {
  constructor(readonly filter: PrefixFilter, readonly maxRoutes: number, readonly maxLegs: number = DEFAULT_MAX_LEGS) {}

  /** A filter verdict for the prefix, whatever the RIB holds. */
  filtered(prefix: Ipv4Prefix): Refusal | undefined {
    const rule = matchingRule(this.filter, prefix);
    if ((rule ? rule.action : this.filter.defaultAction) === 'accept') return undefined;
    const i = rule ? this.filter.rules.indexOf(rule) : -1;
    return {
      code: 'ROUTE_FILTERED',
      message: `prefix: "${prefix.key}" refused by ${rule && i >= 0 ? `filters.rules.${i} (${rule.text})` : 'filters.default (reject)'}`,
    };
  }

  /** Whether a prefix the RIB does not hold yet may be added at this size. */
  overLimit(prefix: Ipv4Prefix, size: number): Refusal | undefined {
    if (size < this.maxRoutes) return undefined;
    return { code: 'LIMIT_EXCEEDED', message: `prefix: "${prefix.key}" refused: limits.max-routes (${this.maxRoutes}) reached; installed routes are kept` };
  }
}
