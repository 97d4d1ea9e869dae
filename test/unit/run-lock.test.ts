// The one-instance lock: flock(2) on rfc5549d.lock in each runtime directory.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFromDocument } from '../../src/config/config.js';
import { Rfc5549Error } from '../../src/errors.js';
import { defaultTableNames } from '../../src/model/route-table.js';
import { holderPid, LOCK_FILE, RunLock, runtimeDirectories } from '../../src/runtime/run-lock.js';

const ADDON = resolve(import.meta.dirname, '../../native/icmp6/build/Release/run_lock.node');
const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'rfc5549d-lock-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function lockError(fn: () => unknown): Rfc5549Error {
  try {
    fn();
  } catch (err) {
    if (err instanceof Rfc5549Error) return err;
    throw err;
  }
  throw new Error('expected INSTANCE_LOCKED');
}

describe('run lock (one instance per runtime directory)', () => {
  it('locks the directory of each distinct socket the configuration uses', () => {
    const cfg = (doc: object) => configFromDocument(doc, defaultTableNames());
    expect(runtimeDirectories(cfg({ control: { socket: '/run/a/control.sock' }, sources: { jsonl: { socket: '/run/a/routes.sock' } } }))).toEqual(['/run/a']);
    expect(runtimeDirectories(cfg({ control: { socket: '/run/a/control.sock' }, sources: { jsonl: { socket: '/run/b/routes.sock' } } }))).toEqual(['/run/a', '/run/b']);
    // a source that is off touches no socket; stdin is no directory
    expect(runtimeDirectories(cfg({ control: { socket: '/run/a/control.sock' }, sources: { jsonl: { enabled: false, socket: '/run/b/r.sock' } } }))).toEqual(['/run/a']);
    expect(runtimeDirectories(cfg({ control: { socket: '/run/a/control.sock' }, sources: { jsonl: { socket: '-' } } }))).toEqual(['/run/a']);
  });

  it('a second holder is refused with the lock path and the pid holding it; released, it can be taken again', () => {
    const d = tmp();
    const first = RunLock.acquire([d]);
    expect(readFileSync(join(d, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
    // flock is per open file: a second open in this very process conflicts like another daemon
    const err = lockError(() => RunLock.acquire([d]));
    expect(err.code).toBe('INSTANCE_LOCKED');
    expect(err.message).toContain(join(d, LOCK_FILE));
    expect(err.message).toContain(`pid ${process.pid}`);
    first.release();
    const again = RunLock.acquire([d]);
    again.release();
  });

  it('refused on the second directory, it keeps none locked', () => {
    const a = tmp();
    const b = tmp();
    const holder = RunLock.acquire([b]);
    expect(() => RunLock.acquire([a, b])).toThrow(/holds/);
    RunLock.acquire([a]).release(); // a was let go
    holder.release();
  });

  it('the kernel releases it when the holder is killed (SIGKILL leaves nothing stale)', async () => {
    const d = tmp();
    const path = join(d, LOCK_FILE);
    const child = spawn(process.execPath, ['-e', `
      const fs = require('node:fs');
      const { tryLockExclusive } = require(${JSON.stringify(ADDON)});
      const fd = fs.openSync(${JSON.stringify(path)}, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
      if (!tryLockExclusive(fd)) process.exit(3);
      fs.writeSync(fd, process.pid + '\\n', 0);
      process.stdout.write('locked\\n');
      setInterval(() => {}, 1000);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((res, rej) => {
        child.stdout.on('data', (b: Buffer) => b.toString().includes('locked') && res());
        child.once('exit', (code) => rej(new Error(`lock holder exited ${code}`)));
      });
      const err = lockError(() => RunLock.acquire([d]));
      expect(err.message).toContain(`pid ${child.pid}`);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    RunLock.acquire([d]).release();
  });

  it('what the file says is shown only when it is a pid', () => {
    expect(holderPid('1234\n')).toBe('1234');
    expect(holderPid('\u001b[31mevil')).toBe('unknown');
    expect(holderPid('')).toBe('unknown');
  });
});
