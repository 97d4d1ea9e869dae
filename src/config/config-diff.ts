// What a reload can apply to a running daemon, and what needs a restart: the one list of
// live keys. Pure; Daemon.reload runs on what reloadConfig returns.
import { MAX_VIA_LEGS } from '../rib/route-validation.js';
import type { Config } from './config.js';
import { ConfigError } from './problems.js';

interface Section {
  /** the key as operators write it */
  readonly key: string;
  readonly pick: (c: Config) => unknown;
  /** live sections: the running configuration with this section taken from the next one */
  readonly take?: (running: Config, next: Config) => Config;
}

const SECTIONS: readonly Section[] = [
  { key: 'log.level', pick: (c) => c.logLevel, take: (r, n) => ({ ...r, logLevel: n.logLevel }) },
  { key: 'interfaces', pick: (c) => c.interfaces, take: (r, n) => ({ ...r, interfaces: n.interfaces }) },
  { key: 'limits', pick: (c) => c.limits, take: (r, n) => ({ ...r, limits: n.limits }) },
  {
    key: 'filters',
    pick: (c) => c.filters.rules.map((r) => r.text).concat(`default ${c.filters.defaultAction}`),
    take: (r, n) => ({ ...r, filters: n.filters }),
  },
  { key: 'graceful.withdraw-on-exit', pick: (c) => c.graceful.withdrawOnExit, take: (r, n) => ({ ...r, graceful: { ...r.graceful, withdrawOnExit: n.graceful.withdrawOnExit } }) },
  { key: 'reconcile.resync-interval', pick: (c) => c.reconcile.resyncIntervalMs, take: (r, n) => ({ ...r, reconcile: { ...r.reconcile, resyncIntervalMs: n.reconcile.resyncIntervalMs } }) },
  { key: 'graceful.stale-time', pick: (c) => c.graceful.staleTimeMs },
  { key: 'kernel', pick: (c) => c.kernel },
  { key: 'sources.jsonl', pick: (c) => c.sources.jsonl },
  { key: 'sources.fpm', pick: (c) => c.sources.fpm },
  { key: 'sources.gobgp', pick: (c) => c.sources.gobgp },
  { key: 'sources.kernel', pick: (c) => c.sources.kernel },
  { key: 'control', pick: (c) => c.control },
  { key: 'ra', pick: (c) => c.ra },
  { key: 'metrics', pick: (c) => c.metrics },
];

export interface ConfigChanges {
  /** changed sections a reload applies */
  readonly live: string[];
  /** changed sections that keep their running value until a restart */
  readonly needRestart: string[];
}

function diffConfig(running: Config, next: Config): ConfigChanges {
  const live: string[] = [];
  const needRestart: string[] = [];
  for (const s of SECTIONS) {
    if (JSON.stringify(s.pick(running)) === JSON.stringify(s.pick(next))) continue;
    (s.take ? live : needRestart).push(s.key);
  }
  return { live, needRestart };
}

/** The configuration a reload runs on: the live sections of `next`, the rest as running. */
function liveConfig(running: Config, next: Config): Config {
  return Object.freeze(SECTIONS.reduce((c, s) => (s.take ? s.take(c, next) : c), running));
}

/**
 * A reload of `next` into a daemon running `running`: the configuration to run on and what
 * changed. Throws CONFIG_INVALID when `next` cannot run beside what only a restart changes.
 */
export function reloadConfig(running: Config, next: Config): { config: Config; changes: ConfigChanges } {
  // limits apply now but kernel.mode only at a restart: check the new limit against the running mode
  if (running.kernel.mode === 'via' && next.limits.maxLegs > MAX_VIA_LEGS) {
    throw new ConfigError('reload', [{
      path: 'limits.max-legs',
      value: next.limits.maxLegs,
      message: `at most ${MAX_VIA_LEGS} while the running kernel.mode is via (a mode change waits for a restart): a longer RTA_VIA route is left out of kernel dumps`,
    }]);
  }
  return { config: liveConfig(running, next), changes: diffConfig(running, next) };
}
