import { describe, expect, it } from 'vitest';
import { ConfigError, configFromDocument } from '../../src/config/config.js';
import { reloadConfig } from '../../src/config/config-diff.js';
import { parseRtTables } from '../../src/model/route-table.js';

const tables = parseRtTables('');
const config = (doc: unknown) => configFromDocument(doc, tables);

describe('reload', () => {
  it('takes the live sections of the new file and keeps the others until a restart', () => {
    const running = config({ kernel: { protocol: 200 }, interfaces: ['swp1'], graceful: { 'stale-time': 30 } });
    const next = config({
      kernel: { protocol: 201 }, interfaces: ['swp*'], log: { level: 'debug' }, limits: { 'max-routes': 10 },
      graceful: { 'stale-time': 5, 'withdraw-on-exit': true }, reconcile: { 'resync-interval': 5 },
    });
    const { config: c, changes } = reloadConfig(running, next);
    expect(changes).toEqual({
      live: ['log.level', 'interfaces', 'limits', 'graceful.withdraw-on-exit', 'reconcile.resync-interval'],
      needRestart: ['graceful.stale-time', 'kernel'],
    });
    expect(c.logLevel).toBe('debug');
    expect(c.interfaces).toEqual(['swp*']);
    expect(c.limits.maxRoutes).toBe(10);
    expect(c.graceful).toEqual({ staleTimeMs: 30_000, withdrawOnExit: true });
    expect(c.reconcile.resyncIntervalMs).toBe(5000);
    expect(c.kernel.protocol).toBe(200);
  });

  it('an unchanged file changes nothing', () => {
    const running = config({});
    const { config: c, changes } = reloadConfig(running, config({}));
    expect(changes).toEqual({ live: [], needRestart: [] });
    expect(c).toEqual(running);
  });

  it('refuses a leg limit the running via mode cannot dump, though the new file says neighbor', () => {
    const running = config({ kernel: { mode: 'via' }, limits: { 'max-legs': 2 } });
    const next = config({ limits: { 'max-legs': 200 } });
    expect(() => reloadConfig(running, next)).toThrow(ConfigError);
    expect(() => reloadConfig(running, next)).toThrow(/limits\.max-legs: at most 108 while the running kernel\.mode is via/);
  });
});
