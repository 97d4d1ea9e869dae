// The configuration file's YAML, bounded before the schema sees it: size, nesting, aliases,
// and no tags. A config is plain maps, lists and scalars; a tag (`!!binary`, `!custom`)
// would turn a value into something else (a Buffer, whose method names then showed up as
// "unknown keys" under a wrong path), so a tag is refused with its name and path.
import { isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { escapeText, excerpt } from '../excerpt.js';

/**
 * The largest config file taken. Real ones are a few KB; parsing is the costly part (yaml
 * builds a node per value), about 0.6 s and 150 MB at this size in the worst layout.
 */
export const MAX_CONFIG_BYTES = 256 * 1024;
/** The schema nests 4 levels (filters.rules.N.prefix); anything much deeper is not a config. */
const MAX_CONFIG_DEPTH = 16;
/** Aliases resolved at most: bounds an anchor bomb (a: &a [x,x], b: &b [*a,*a], …). */
const MAX_CONFIG_ALIASES = 100;

interface YamlProblem {
  readonly path: string;
  readonly value: undefined;
  readonly message: string;
}

const problem = (path: string, message: string): { ok: false; problem: YamlProblem } => ({ ok: false, problem: { path, value: undefined, message } });

export type YamlResult = { ok: true; value: unknown } | { ok: false; problem: YamlProblem };

export function parseConfigYaml(text: string): YamlResult {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CONFIG_BYTES) return problem('', `the file is ${bytes} bytes, at most ${MAX_CONFIG_BYTES} are read`);
  let doc;
  try {
    doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    return problem('', `not valid YAML: ${parserMessage(err)}`);
  }
  const [first] = doc.errors;
  if (first !== undefined) {
    const where = first.linePos ? ` at line ${first.linePos[0].line}` : '';
    return problem('', `not valid YAML${where}: ${parserMessage(first)}`);
  }
  const shape = checkShape(doc.contents);
  if (shape !== undefined) return problem(shape.path, shape.message);
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_CONFIG_ALIASES }) as unknown };
  } catch (err) {
    return problem('', `not valid YAML: ${parserMessage(err)}`);
  }
}

/** The first line of a parser's message, escaped; a stack overflow named for what it is. */
function parserMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if (/Maximum call stack size exceeded/.test(text)) return `nested too deeply (at most ${MAX_CONFIG_DEPTH} levels)`;
  if (/Excessive alias count/.test(text)) return `more than ${MAX_CONFIG_ALIASES} alias expansions (*name): an anchor bomb, or a config that should not use aliases`;
  return escapeText(text.split('\n')[0] ?? '');
}

/** Walks the node tree without recursion: no tags, bounded depth. */
function checkShape(root: unknown): { path: string; message: string } | undefined {
  const stack: Array<{ node: unknown; path: string; depth: number }> = [{ node: root, path: '', depth: 0 }];
  const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);
  while (stack.length > 0) {
    const { node, path, depth } = stack.pop()!;
    if (node === null || node === undefined || isAlias(node)) continue;
    if (depth > MAX_CONFIG_DEPTH) return { path, message: `nested deeper than ${MAX_CONFIG_DEPTH} levels` };
    const tag = (node as Node).tag;
    if (tag !== undefined) {
      return { path: path || '(root)', message: `YAML tag ${excerpt(tag.replace(/^tag:yaml\.org,2002:/, '!!'), 60)} is not supported; a config holds plain maps, lists, strings, numbers and booleans` };
    }
    if (isScalar(node)) continue;
    // pushed last to first, so that the first problem in the file is the one reported
    if (isMap(node)) {
      for (const pair of [...node.items].reverse()) {
        const key = isScalar(pair.key) ? escapeText(String(pair.key.value), 60) : '?';
        if (pair.key !== null && !isScalar(pair.key)) return { path: join(path, key), message: 'a key must be a plain scalar' };
        stack.push({ node: pair.value, path: join(path, key), depth: depth + 1 });
        if (isScalar(pair.key) && pair.key.tag !== undefined) stack.push({ node: pair.key, path: join(path, key), depth: depth + 1 });
      }
    } else if (isSeq(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) {
        const item = node.items[i];
        stack.push({ node: isPair(item) ? item.value : item, path: join(path, String(i)), depth: depth + 1 });
      }
    }
  }
  return undefined;
}
