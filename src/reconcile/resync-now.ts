// `rfc5549d resync`: wait out the running pass, dump and compare everything, and answer
// with the full pass it took.
import type { Rib } from '../rib/rib.js';
import type { Reconciler } from './reconciler.js';

export async function resyncNow(reconciler: Reconciler, rib: Rib): Promise<unknown> {
  const t0 = performance.now();
  await reconciler.idle();
  reconciler.requestResync();
  await reconciler.idle();
  const s = reconciler.stats();
  return { ...s.lastPass, wallMs: Math.round((performance.now() - t0) * 10) / 10, desired: rib.size, pending: s.pending };
}
