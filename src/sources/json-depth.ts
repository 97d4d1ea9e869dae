// Nesting depth of a JSON text, measured on the raw characters before JSON.parse: a line of a
// few kilobytes can nest thousands of levels, and everything that walks such a value
// recursively (JSON.stringify in a message, a validator) overflows the stack.

export interface DepthExcess {
  /** the top-level key whose value is too deep, or undefined at the top level itself */
  readonly key: string | undefined;
  /** UTF-16 offset of the bracket that went one level too deep */
  readonly at: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;

/** undefined if no bracket nests deeper than maxDepth; strings are skipped, invalid JSON is left to JSON.parse. */
export function jsonDepthExcess(text: string, maxDepth: number): DepthExcess | undefined {
  // Fast path (most lines): no more opening brackets in all than the depth allowed. Counting
  // them with the native indexOf costs a tenth of the character walk below.
  if (countOf(text, '{', maxDepth) + countOf(text, '[', maxDepth) <= maxDepth) return undefined;
  let depth = 0;
  let lastStringStart = -1;
  let lastStringEnd = -1;
  let key: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      lastStringStart = i + 1;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
      lastStringEnd = i;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return { key, at: i };
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
      if (depth <= 1) key = undefined;
    } else if (c === COLON && depth === 1 && lastStringStart >= 0) {
      key = text.slice(lastStringStart, lastStringEnd);
    }
  }
  return undefined;
}

/** occurrences of ch in text, counting no further than limit + 1 */
function countOf(text: string, ch: string, limit: number): number {
  let n = 0;
  for (let i = text.indexOf(ch); i >= 0 && n <= limit; i = text.indexOf(ch, i + 1)) n++;
  return n;
}
