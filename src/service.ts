// The daemon as a service: signals (SIGTERM/SIGINT stop, SIGHUP reload), systemd
// notification (READY/RELOADING/STOPPING/STATUS, watchdog) and the metrics endpoint.
import { assertStartable, ConfigError, formatProblem } from './config/config.js';
import { loadConfig, readTableNames } from './config/load.js';
import { loadConfigOffThread } from './config/load-off-thread.js';
import { Daemon } from './daemon.js';
import { DryRun } from './dry-run/dry-run.js';
import { errorMessage } from './errors.js';
import { escapeText } from './excerpt.js';
import { createLogger } from './log.js';
import { RunLock, runtimeDirectories } from './runtime/run-lock.js';
import { MetricsServer } from './status/metrics.js';
import { SystemdNotifier } from './systemd/notify.js';

const STATUS_EVERY_MS = 10_000;

export async function runService(configFile: string | undefined, version: string, opts: { dryRun?: boolean } = {}): Promise<void> {
  const tables = readTableNames();
  const config = loadConfig(configFile, tables);
  assertStartable(config, configFile ?? 'embedded default');
  // Before any socket is touched: a second daemon must not unlink the first one's sockets.
  const lock = RunLock.acquire(runtimeDirectories(config));
  const log = createLogger(config.logLevel);
  log.info({ event: 'starting', version, config: configFile ?? 'embedded default', locks: lock.paths }, 'rfc5549d starting');
  const notifier = new SystemdNotifier(process.env, (err) => log.warn({ event: 'notifyFailed', err }, 'sd_notify failed'));
  // a dry run: the daemon's kernel is a fake seeded from the real one, which is only read
  const dryRun = opts.dryRun ? await DryRun.start(config, log) : undefined;
  const daemon = new Daemon({ config, log, tables, version, ...(dryRun ? { kernel: dryRun.kernel, dryRun } : {}) });
  const metrics = config.metrics.listen ? new MetricsServer(config.metrics.listen, daemon, log.child({ component: 'metrics' })) : undefined;
  const statusLine = (): string => {
    const s = daemon.status();
    return `${s.rib.desired - s.reconciler.pending} routes installed, ${s.reconciler.pending} pending`;
  };

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    notifier.stopping();
    const withdraw = daemon.withdrawOnExit;
    log.info({ event: 'stopping', signal, withdraw }, withdraw ? 'stopping; removing every owned route (graceful.withdraw-on-exit)' : 'stopping; routes stay in place for the next start');
    metrics?.stop();
    void daemon.stop(withdraw).then(
      (left) => {
        log.info({ event: 'stopped', ownedRoutesLeft: left.routes, placeholdersLeft: left.placeholders }, 'stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ event: 'stopFailed', err }, 'stop failed');
        process.exit(1);
      },
    );
  };

  // Parsing runs in a worker (load-off-thread.ts), so routes keep flowing during a reload.
  // A SIGHUP during a reload runs one more after it: the file may have changed again.
  let reloading = false;
  let reloadAgain = false;
  const reload = async (): Promise<void> => {
    if (stopping) return;
    if (reloading) {
      reloadAgain = true;
      return;
    }
    reloading = true;
    notifier.reloading();
    log.info({ event: 'reloadStarted', config: configFile ?? 'embedded default' }, 'reloading the configuration');
    try {
      const next = await loadConfigOffThread(configFile, tables);
      if (stopping) return;
      const changes = daemon.reload(next);
      log.info({ event: 'configReloaded', applied: changes.live, needRestart: changes.needRestart },
        changes.needRestart.length > 0 ? `reloaded; these changes wait for a restart: ${changes.needRestart.join(', ')}` : 'reloaded');
    } catch (err) {
      daemon.reloadFailed();
      const problems = err instanceof ConfigError ? err.problems.map(formatProblem) : [escapeText(errorMessage(err))];
      log.error({ event: 'reloadFailed', config: configFile ?? 'embedded default', problems }, 'reload failed; the running configuration is kept');
    } finally {
      reloading = false;
    }
    notifier.ready(statusLine());
    if (reloadAgain) {
      reloadAgain = false;
      await reload();
    }
  };

  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => void reload());
  await daemon.start();
  await metrics?.start();
  notifier.ready(statusLine());
  if (notifier.watchdogMs !== undefined) {
    const limit = notifier.watchdogMs;
    notifier.startWatchdog(() => daemon.status().reconciler.busyForMs < limit);
  }
  if (notifier.enabled) setInterval(() => notifier.status(statusLine()), STATUS_EVERY_MS).unref();
}
