// The sd_notify protocol: READY=1, RELOADING=1, STOPPING=1, STATUS=…, WATCHDOG=1 datagrams
// to $NOTIFY_SOCKET (native/icmp6/sd_notify.cc sends them). Without NOTIFY_SOCKET (not run
// by systemd as Type=notify) every call does nothing.
import { createRequire } from 'node:module';
import { Rfc5549Error } from '../errors.js';

type NotifyFn = (socket: string, message: string) => void;

function loadNative(): NotifyFn {
  const require = createRequire(import.meta.url);
  try {
    return (require('../../../native/icmp6/build/Release/sd_notify.node') as { notify: NotifyFn }).notify;
  } catch (err) {
    throw new Rfc5549Error('UNSUPPORTED', 'the sd_notify addon is not built (run npm ci: scripts/build-native.mjs)', { cause: err });
  }
}

export class SystemdNotifier {
  private readonly socket: string | undefined;
  private readonly send: NotifyFn | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  /** the keep-alive interval systemd asked for (WatchdogSec), if it applies to us */
  readonly watchdogMs: number | undefined;

  constructor(env: NodeJS.ProcessEnv = process.env, private readonly onError: (err: Error) => void = () => {}) {
    this.socket = env.NOTIFY_SOCKET || undefined;
    this.send = this.socket ? loadNative() : undefined;
    const usec = Number(env.WATCHDOG_USEC);
    const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
    this.watchdogMs = this.socket && forUs && Number.isFinite(usec) && usec > 0 ? usec / 1000 : undefined;
  }

  get enabled(): boolean {
    return this.socket !== undefined;
  }

  ready(status?: string): void {
    this.notify(['READY=1', `MAINPID=${process.pid}`, ...(status ? [`STATUS=${status}`] : [])]);
  }

  reloading(): void {
    // MONOTONIC_USEC lets systemd (>= 253, Type=notify-reload) tell this reload from older ones
    this.notify(['RELOADING=1', `MONOTONIC_USEC=${(process.hrtime.bigint() / 1000n).toString()}`]);
  }

  stopping(): void {
    this.stopWatchdog();
    this.notify(['STOPPING=1']);
  }

  status(text: string): void {
    this.notify([`STATUS=${text}`]);
  }

  /**
   * Keep-alives at half the interval. `healthy` gates each one: a daemon whose reconciler
   * is stuck stops sending, and systemd restarts it.
   */
  startWatchdog(healthy: () => boolean): void {
    if (this.watchdogMs === undefined || this.watchdog) return;
    this.watchdog = setInterval(() => {
      if (healthy()) this.notify(['WATCHDOG=1']);
    }, Math.max(50, this.watchdogMs / 2));
    this.watchdog.unref();
  }

  stopWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private notify(lines: string[]): void {
    if (!this.socket || !this.send) return;
    try {
      this.send(this.socket, lines.join('\n'));
    } catch (err) {
      this.onError(err as Error);
    }
  }
}
