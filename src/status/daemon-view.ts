// The parts of the daemon the status snapshot reads. A type of its own so that the
// snapshot does not import daemon.ts, which imports the snapshot (no cycle); the Daemon
// class satisfies it structurally.
import type { PeerTable } from '../peers/peer-table.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { Rib } from '../rib/rib.js';
import type { FpmSource } from '../sources/fpm/fpm-server.js';

export interface DaemonView {
  readonly rib: Rib;
  readonly peers: PeerTable;
  readonly reconciler: Reconciler;
  readonly fpm: FpmSource | undefined;
  /** when a router advertisement last came from each peer (peerKey), ms */
  readonly lastRaAt: ReadonlyMap<string, number>;
  sourceStatus(): Record<string, unknown>;
}
