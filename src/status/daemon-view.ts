// The narrow view the route and peer listings read (`rfc5549d routes`, `peers`): the
// listings walk the RIB and the peer table, which no stats() copy should hold. A type of
// its own so that the snapshot does not import daemon.ts (no cycle).
import type { LinkLocal } from '../model/link-local.js';
import type { PeerTable } from '../peers/peer-table.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { Rib } from '../rib/rib.js';
import type { FpmSource } from '../sources/fpm/fpm-server.js';

export interface ListingView {
  readonly rib: Pick<Rib, 'desiredSlots' | 'routeAt' | 'sessionAt' | 'refusals' | 'interfaces' | 'peersOn'>;
  readonly peers: Pick<PeerTable, 'resolve' | 'list' | 'learntOn'>;
  readonly reconciler: Pick<Reconciler, 'pendingAt' | 'findings' | 'placeholderOf'>;
  readonly fpm: Pick<FpmSource, 'session' | 'pendingRoutes'> | undefined;
  /** when a router advertisement last came from the peer, ms on the daemon's clock */
  lastRaAt(ifname: string, ll: LinkLocal): number | undefined;
}
