// graceful.withdraw-on-exit: every source's routes withdrawn, then passes until nothing of
// ours is left in the kernel. Routes go first; the placeholders they used, and the throws
// inside them, in the pass after (never a stranded route); the rule is released too.
import type { Logger } from '../log.js';
import type { Rib } from '../rib/rib.js';
import type { Reconciler } from './reconciler.js';

/** a route, then its placeholder, then the throws and the rule: a few passes at most */
const MAX_PASSES = 4;

export async function withdrawEverything(rib: Rib, reconciler: Reconciler, ownProtocol: number, log: Logger): Promise<void> {
  const n = rib.withdrawSessions(() => true);
  reconciler.allowSweep();
  reconciler.releaseRule();
  const own = reconciler.ownTable;
  for (let i = 0; i < MAX_PASSES; i++) {
    reconciler.requestResync();
    await reconciler.idle();
    if (reconciler.state.ownedRouteCount === 0 && ownedPlaceholders(reconciler, ownProtocol) === 0 && own.throwCount === 0 && own.ruleCount === 0) break;
  }
  log.info({ event: 'withdrawnOnExit', routes: n }, 'graceful.withdraw-on-exit: owned routes and placeholders removed');
}

/** placeholder neighbours of our protocol in the kernel */
export function ownedPlaceholders(reconciler: Reconciler, ownProtocol: number): number {
  let n = 0;
  for (const p of reconciler.state.placeholders.values()) if (p.protocol === ownProtocol) n++;
  return n;
}
