// How a configuration problem is reported: the path in the file, the value found there (a
// bounded excerpt) and what is wrong, for check-config, start-up and reload alike.
import type { z } from 'zod';
import { Rfc5549Error } from '../errors.js';
import { escapeText, excerpt } from '../excerpt.js';

export interface ConfigProblem {
  readonly path: string;
  readonly value: unknown;
  readonly message: string;
}

export class ConfigError extends Rfc5549Error {
  readonly problems: readonly ConfigProblem[];
  constructor(source: string, problems: readonly ConfigProblem[]) {
    super('CONFIG_INVALID', `${escapeText(source)}: ${problems.map(formatProblem).join('; ')}`);
    this.problems = problems;
  }
}

/** One problem as operators read it (check-config, reloadFailed): bounded, control bytes escaped. */
export function formatProblem(p: ConfigProblem): string {
  const value = p.value === undefined ? '' : ` (value ${excerpt(p.value)})`;
  return `${escapeText(p.path || '(root)')}: ${escapeText(p.message)}${value}`;
}

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = doc;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, k)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return cur;
}

/** zod's issues for a document, each with its path and the value found there. */
export function schemaProblems(doc: unknown, issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
  return issues.map((i) => {
    const path = i.path.map(String).join('.');
    // For unknown keys zod points at the parent; name the key itself.
    if (i.code === 'unrecognized_keys') {
      const { keys } = i;
      const shown = keys.slice(0, 10).map((k) => excerpt(k, 40)).join(', ') + (keys.length > 10 ? ` and ${keys.length - 10} more` : '');
      return { path: [...i.path.map(String), keys[0]].filter(Boolean).join('.'), value: undefined, message: `unknown key${keys.length > 1 ? 's' : ''} ${shown}` };
    }
    return { path, value: valueAt(doc, i.path), message: i.message };
  });
}
