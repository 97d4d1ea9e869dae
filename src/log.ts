import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/config.js';

export type { Logger };

/** JSON lines on stdout for journald; components take child loggers ({ component }). */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { name: 'rfc5549d' } }, pino.destination({ dest: 1, sync: true }));
}
