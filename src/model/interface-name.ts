import type { ParseResult } from './ipv4-prefix.js';
import { excerpt } from '../excerpt.js';

// Linux IFNAMSIZ is 16 including the NUL; dev_valid_name() also refuses "/", ":" and whitespace.
export function parseInterfaceName(text: string): ParseResult<string> {
  if (text.length === 0 || text.length > 15) return { ok: false, error: `${excerpt(text)} is not a valid interface name (1 to 15 characters)` };
  if (text === '.' || text === '..' || /[/:\s]/.test(text)) {
    return { ok: false, error: `${excerpt(text)} is not a valid interface name` };
  }
  return { ok: true, value: text };
}

/** Shell-style glob ("swp*", "eth?") to a matcher; names without wildcards match exactly. */
export function interfaceMatcher(patterns: readonly string[]): (name: string) => boolean {
  if (patterns.length === 0) return () => true;
  const res = patterns.map(
    (p) => new RegExp(`^${p.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`),
  );
  return (name) => res.some((re) => re.test(name));
}
