// The control socket's commands and what each answers: status, the route and peer listings,
// and a resync on demand. The daemon supplies the parts; this interprets the request.
import { excerpt } from '../excerpt.js';
import type { DaemonStats } from './daemon-stats.js';
import type { ListingView } from './daemon-view.js';
import { daemonStatus, peerStatuses, routeStatuses } from './snapshot.js';

export interface ControlTarget {
  status(): DaemonStats;
  readonly listings: ListingView;
  /** dump and compare everything now; resolves to what the pass did */
  resync(): Promise<unknown>;
  /** what a dry run would write (`rfc5549d plan`); an error answer outside a dry run */
  plan(): Promise<unknown>;
}

export interface ControlRequest {
  readonly command: string;
  readonly pending?: boolean;
}

export function answerControl(d: ControlTarget, req: ControlRequest): unknown {
  switch (req.command) {
    case 'status':
      return daemonStatus(d.status());
    case 'routes':
      return routeStatuses(d.listings, req.pending === true);
    case 'peers':
      return peerStatuses(d.listings, d.status().nowMs);
    case 'resync':
      return d.resync();
    case 'plan':
      return d.plan();
    default:
      return { error: `command: unknown command ${excerpt(req.command)} (status, routes, peers, resync, plan)` };
  }
}
