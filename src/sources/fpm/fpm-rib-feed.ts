// What one zebra connection's session does with the routes it translates: adds go to the
// RIB at once (overriding a held withdrawal of the same route), withdrawals wait out
// sources.fpm.withdraw-hold, refusals and missing nexthop ids are logged rate-limited or
// once per episode.
import { LogThrottle, type Logger } from '../../log.js';
import type { Rib } from '../../rib/rib.js';
import type { FpmSessionOptions } from './fpm-echo.js';
import { FpmSession } from './fpm-session.js';
import type { WithdrawHold } from './withdraw-hold.js';

export interface FpmFeed {
  readonly rib: Rib;
  readonly hold: WithdrawHold;
  readonly log: Logger;
  readonly withdrawHoldMs: number;
  readonly refusalLog: LogThrottle;
  readonly nexthopRefusalLog: LogThrottle;
  /** a route of zebra's the RIB refused */
  readonly refused: () => void;
}

/** A session named `id` whose routes feed the RIB. */
export function feedingSession(id: string, opts: FpmSessionOptions, feed: FpmFeed): FpmSession {
  const { rib, hold, log } = feed;
  return new FpmSession(id, opts, {
    add: (s, r) => {
      hold.supersede(r.table, r.prefix);
      const change = rib.add(s, r);
      if (change === 'refused') {
        feed.refused();
        const dropped = feed.refusalLog.admit();
        if (dropped !== undefined) {
          const refusal = rib.refusalOf(r.table, r.prefix);
          log.warn({ event: 'fpmRouteRefused', session: s, code: refusal?.code, error: refusal?.message, ...(dropped > 0 ? { notLogged: dropped } : {}) }, 'route from zebra refused');
        }
      }
      if (log.isLevelEnabled('debug')) log.debug({ event: 'fpmRoute', session: s, table: r.table, prefix: r.prefix.key, change }, 'FPM route');
    },
    withdraw: (t, p, unusable) => {
      if (unusable) {
        // an add we cannot install: at once, and it overrides a held delete of the same route
        hold.supersede(t, p);
        rib.withdraw(t, p);
        return;
      }
      if (log.isLevelEnabled('debug')) log.debug({ event: 'fpmWithdrawHeld', session: id, table: t, prefix: p.key, holdMs: feed.withdrawHoldMs }, 'FPM withdrawal');
      hold.withdraw(t, p);
    },
  }, (episode) => {
    // once per episode, not per route: zebra without kernel nexthops names thousands of ids
    if (episode.state === 'begin') {
      log.warn({ event: 'fpmNexthopMissing', session: id, key: episode.key, nhId: episode.nhId, error: episode.reason },
        'routes from zebra name nexthop ids that cannot be resolved; they are pending (rfc5549d routes --pending)');
    } else {
      log.info({ event: 'fpmNexthopResolved', session: id, resolved: episode.resolved }, 'no route from zebra waits for a nexthop id any more');
    }
  }, (nhId, error) => {
    const dropped = feed.nexthopRefusalLog.admit();
    if (dropped !== undefined) log.warn({ event: 'fpmNexthopRefused', session: id, nhId, error, ...(dropped > 0 ? { notLogged: dropped } : {}) }, 'nexthop object from zebra refused');
  });
}
