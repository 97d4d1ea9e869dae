// Bounded, escaped renderings of hostile values for error messages and logs. A message
// that echoes input must not be able to throw (JSON.stringify overflows the stack on a
// value nested a few thousand levels deep), grow without bound, or write control bytes to
// an operator's terminal. Small values render exactly as JSON.stringify would.

/** Characters printed as an escape: C0, DEL, C1, line/paragraph separators, bidi controls, BOM, lone surrogates. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

const EXCERPT_MAX_CHARS = 120;
const ELLIPSIS = '…';
/** deeper containers render as [...] / {...}: the budget would cut them anyway */
const MAX_RENDER_DEPTH = 6;

const escapeChar = (c: string): string => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * Free text (a path, a key, a parser's message) with unsafe characters escaped and its
 * length capped. No quotes are added.
 */
export function escapeText(text: string, maxChars = 4 * EXCERPT_MAX_CHARS): string {
  // Escape at most a little more than what can be shown, never the whole of a huge string.
  const head = text.length > maxChars ? text.slice(0, maxChars + 1) : text;
  const escaped = head.replace(UNSAFE, escapeChar);
  return escaped.length > maxChars || text.length > maxChars ? `${escaped.slice(0, maxChars)}${ELLIPSIS}` : escaped;
}

/**
 * A JSON-like rendering of any value, at most about maxChars long; never throws. Strings are
 * quoted and escaped as JSON does, plus the unsafe characters above; a cut is marked with "…".
 */
export function excerpt(value: unknown, maxChars = EXCERPT_MAX_CHARS): string {
  const out = new Budget(maxChars);
  try {
    render(value, out, 0);
  } catch {
    out.push('?'); // a getter or proxy that throws: say so, do not fail the message
  }
  return out.text();
}

class Budget {
  private parts: string[] = [];
  private used = 0;
  full = false;
  constructor(private readonly max: number) {}
  push(s: string): void {
    if (this.full) return;
    if (this.used + s.length > this.max) {
      this.parts.push(s.slice(0, this.max - this.used));
      this.full = true;
      return;
    }
    this.parts.push(s);
    this.used += s.length;
  }
  get room(): number {
    return this.max - this.used;
  }
  text(): string {
    return this.parts.join('') + (this.full ? ELLIPSIS : '');
  }
}

function render(v: unknown, out: Budget, depth: number): void {
  if (out.full) return;
  switch (typeof v) {
    case 'undefined':
      return out.push('undefined');
    case 'string':
      return out.push(quote(v, out));
    case 'number':
    case 'boolean':
      return out.push(String(v));
    case 'bigint':
      return out.push(`${v}n`);
    case 'symbol':
    case 'function':
      return out.push(`<${typeof v}>`);
  }
  if (v === null) return out.push('null');
  if (Array.isArray(v)) {
    if (depth >= MAX_RENDER_DEPTH) return out.push(v.length === 0 ? '[]' : '[...]');
    out.push('[');
    for (let i = 0; i < v.length && !out.full; i++) {
      if (i > 0) out.push(',');
      render(v[i], out, depth + 1);
    }
    return out.push(']');
  }
  if (ArrayBuffer.isView(v)) return out.push(`<${v.constructor.name} ${v.byteLength} bytes>`);
  const o = v as Record<string, unknown>;
  if (depth >= MAX_RENDER_DEPTH) return out.push('{...}');
  out.push('{');
  let first = true;
  for (const k in o) {
    if (out.full) break;
    if (!Object.hasOwn(o, k)) continue;
    if (!first) out.push(',');
    first = false;
    out.push(quote(k, out));
    out.push(':');
    render(o[k], out, depth + 1);
  }
  out.push('}');
}

/** JSON string quoting of no more of s than the budget can still show. */
function quote(s: string, out: Budget): string {
  // JSON.stringify on a bounded slice cannot throw; it escapes C0, quotes, backslashes and lone surrogates.
  const room = out.room + 1;
  const cut = s.length > room ? s.slice(0, room) : s;
  const json = JSON.stringify(cut).replace(UNSAFE, escapeChar);
  return cut.length < s.length ? `${json.slice(0, -1)}${ELLIPSIS}"` : json;
}
