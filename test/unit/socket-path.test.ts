// Preparing a socket path: stale files go, live sockets and non-sockets never do.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareSocketPath } from '../../src/runtime/socket-path.js';

let dir: string;
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
const listen = (path: string) => new Promise<Server>((res) => {
  const s = createServer(() => {});
  servers.push(s);
  s.listen(path, () => res(s));
});

describe('prepareSocketPath', () => {
  it('refuses to remove a live socket, naming the key and the path', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rfc5549d-sock-'));
    const path = join(dir, 'control.sock');
    await listen(path);
    await expect(prepareSocketPath(path, 'control.socket')).rejects.toThrow(`control.socket: ${path} is in use`);
    expect(existsSync(path)).toBe(true);
  });

  it('removes a stale socket nobody answers on (its daemon was killed)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rfc5549d-sock-'));
    const path = join(dir, 'control.sock');
    const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.stdout.write('up\\n'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r) => child.stdout.once('data', () => r()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(path)).toBe(true);
    await prepareSocketPath(path, 'control.socket');
    expect(existsSync(path)).toBe(false);
  });

  it('refuses to remove a file that is not a socket', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rfc5549d-sock-'));
    const path = join(dir, 'control.sock');
    writeFileSync(path, 'data');
    await expect(prepareSocketPath(path, 'control.socket')).rejects.toThrow('exists and is not a socket');
    expect(existsSync(path)).toBe(true);
  });
});
