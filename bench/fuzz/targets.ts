import { resolve } from 'node:path';
import { configTarget } from './config-target.js';
import { fpmDecodeTarget, fpmFramingTarget, fpmSessionTarget } from './fpm-targets.js';
import type { FuzzTarget } from './harness.js';
import { jsonlTarget } from './jsonl-target.js';

// The project root, whether this runs from bench/fuzz (vitest) or dist/bench/fuzz (npm run fuzz).
const PROJECT_ROOT = resolve(import.meta.dirname, /[/\\]dist[/\\]bench[/\\]/.test(import.meta.dirname) ? '../../..' : '../..');

export const TARGET_NAMES = ['fpm-framing', 'fpm-decode', 'fpm-session', 'jsonl', 'config'] as const;

export function makeTargets(names: readonly string[] = TARGET_NAMES, root = PROJECT_ROOT): FuzzTarget<unknown>[] {
  const make: Record<string, () => FuzzTarget<unknown>> = {
    'fpm-framing': () => fpmFramingTarget(root),
    'fpm-decode': () => fpmDecodeTarget(root),
    'fpm-session': () => fpmSessionTarget(root),
    jsonl: () => jsonlTarget(),
    config: () => configTarget(root),
  };
  return names.map((n) => {
    const f = make[n];
    if (!f) throw new Error(`unknown fuzz target "${n}" (${TARGET_NAMES.join(', ')})`);
    return f();
  });
}
