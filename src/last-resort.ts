// The last resort: an error nothing else caught. The goal is that this never fires (every
// input runs behind its own guard); when it does, one `fatal` JSON line says what and where,
// and the process exits non-zero so systemd (Restart=on-failure) starts it again. Staying up
// after an uncaught exception would run on state of unknown consistency.
import type { Logger } from './log.js';

/** EX_SOFTWARE (sysexits.h): an internal software error. */
export const FATAL_EXIT_CODE = 70;

export type FatalHandler = (err: unknown, origin: string) => void;

export function lastResortHandler(log: Logger, exit: (code: number) => void): FatalHandler {
  let fired = false;
  return (err, origin) => {
    if (fired) return; // a second failure while exiting adds nothing
    fired = true;
    try {
      log.fatal({ event: 'fatal', origin, err: err instanceof Error ? err : new Error(`non-Error thrown: ${String(err)}`) }, 'uncaught error; exiting for the supervisor to restart');
      log.flush();
    } catch {
      /* nothing left to report with */
    }
    exit(FATAL_EXIT_CODE);
  };
}

/** Routes uncaught exceptions and unhandled rejections of this process to the handler. */
export function installLastResort(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): void {
  const handler = lastResortHandler(log, exit);
  process.on('uncaughtException', (err, origin) => handler(err, origin));
  process.on('unhandledRejection', (reason) => handler(reason, 'unhandledRejection'));
}
