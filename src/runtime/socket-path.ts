// Preparing a Unix socket path for listen(): a stale socket file from a daemon that died is
// removed, a live one (someone answers on it) or a file that is no socket never is.
import { existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { Rfc5549Error } from '../errors.js';

/** `key` is the configuration key the path came from, for the error. */
export async function prepareSocketPath(path: string, key: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) {
    throw new Rfc5549Error('SOURCE_IO', `${key}: ${path} exists and is not a socket; refusing to remove it`);
  }
  const alive = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (alive) throw new Rfc5549Error('SOURCE_IO', `${key}: ${path} is in use (is another rfc5549d running?); refusing to remove it`);
  unlinkSync(path);
}
