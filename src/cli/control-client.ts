import { createConnection } from 'node:net';
import { Rfc5549Error } from '../errors.js';

/** Asks the daemon's control socket one question and returns its parsed answer. */
export function askDaemon(socket: string, request: Record<string, unknown>, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const c = createConnection(socket);
    let buf = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Rfc5549Error('SOURCE_IO', `${socket}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    c.on('connect', () => c.write(`${JSON.stringify(request)}\n`));
    c.on('data', (d) => (buf += d.toString('utf8')));
    c.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as unknown);
      } catch {
        reject(new Rfc5549Error('SOURCE_IO', `${socket}: unreadable answer`));
      }
    });
    c.on('error', (err) => {
      clearTimeout(timer);
      reject(new Rfc5549Error('SOURCE_IO', `cannot reach the daemon at ${socket}: ${err.message} (is rfc5549d running? --socket or --config)`, { cause: err }));
    });
  });
}
