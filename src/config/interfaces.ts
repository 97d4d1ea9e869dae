// `interfaces`: the names and globs of the links the daemon manages.
import { interfaceMatcher, parseInterfaceName } from '../model/interface-name.js';
import type { ConfigProblem } from './problems.js';

/** Each entry must be an interface name once its glob characters stand for a letter. */
export function checkInterfaceGlobs(globs: readonly string[], problems: ConfigProblem[]): void {
  globs.forEach((name, i) => {
    const check = parseInterfaceName(name.replace(/[*?]/g, 'x'));
    if (!check.ok) problems.push({ path: `interfaces.${i}`, value: name, message: 'not an interface name or glob' });
  });
}

export function managesInterface(config: { readonly interfaces: readonly string[] }): (name: string) => boolean {
  return interfaceMatcher(config.interfaces);
}
