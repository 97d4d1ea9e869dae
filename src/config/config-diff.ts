// What a reload can apply to a running daemon, and what needs a restart. Pure.
import type { Config } from './config.js';


type Section = { key: string; pick: (c: Config) => unknown; live: boolean };

const SECTIONS: readonly Section[] = [
  { key: 'log.level', pick: (c) => c.logLevel, live: true },
  { key: 'interfaces', pick: (c) => c.interfaces, live: true },
  { key: 'limits', pick: (c) => c.limits, live: true },
  { key: 'filters', pick: (c) => c.filters.rules.map((r) => r.text).concat(`default ${c.filters.defaultAction}`), live: true },
  { key: 'graceful.withdraw-on-exit', pick: (c) => c.graceful.withdrawOnExit, live: true },
  { key: 'reconcile.resync-interval', pick: (c) => c.reconcile.resyncIntervalMs, live: true },
  { key: 'graceful.stale-time', pick: (c) => c.graceful.staleTimeMs, live: false },
  { key: 'kernel', pick: (c) => c.kernel, live: false },
  { key: 'sources.jsonl', pick: (c) => c.sources.jsonl, live: false },
  { key: 'sources.fpm', pick: (c) => c.sources.fpm, live: false },
  { key: 'sources.gobgp', pick: (c) => c.sources.gobgp, live: false },
  { key: 'sources.kernel', pick: (c) => c.sources.kernel, live: false },
  { key: 'control', pick: (c) => c.control, live: false },
  { key: 'ra', pick: (c) => c.ra, live: false },
  { key: 'metrics', pick: (c) => c.metrics, live: false },
];

export interface ConfigChanges {
  /** changed sections a reload applies */
  readonly live: string[];
  /** changed sections that keep their running value until a restart */
  readonly needRestart: string[];
}

export function diffConfig(running: Config, next: Config): ConfigChanges {
  const live: string[] = [];
  const needRestart: string[] = [];
  for (const s of SECTIONS) {
    if (JSON.stringify(s.pick(running)) === JSON.stringify(s.pick(next))) continue;
    (s.live ? live : needRestart).push(s.key);
  }
  return { live, needRestart };
}
