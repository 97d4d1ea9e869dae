// The built CLI's last-resort handler, as systemd would see it: an error nothing caught
// gives one `fatal` JSON line and a non-zero exit. No kernel needed; it runs dist/ like the
// other suites here. The error is injected by a preloaded module (node --import).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const CLI = resolve(import.meta.dirname, '../../dist/src/main.js');
const cleanup: Array<() => void> = [];
afterEach(() => {
  while (cleanup.length > 0) cleanup.pop()!();
});

function runCli(args: string[], preload: string): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(preload)}`, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanup.push(() => child.kill('SIGKILL'));
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  return new Promise((r) => child.once('exit', (code) => r({ code, stdout })));
}

describe('last resort', () => {
  it.each([
    ['an uncaught exception', 'throw new TypeError("boom from a timer");', 'uncaughtException', 'TypeError'],
    ['an unhandled rejection', 'void Promise.reject(new RangeError("boom from a promise"));', 'unhandledRejection', 'RangeError'],
  ])('%s: one fatal JSON line and exit 70', async (_what, failure, origin, type) => {
    // fail once main.ts has installed its handlers (a fixed delay races a slow start)
    const preload = `const t = setInterval(() => { if (process.listenerCount('unhandledRejection') > 0) { clearInterval(t); ${failure} } }, 10);`;
    // a control socket that accepts and never answers keeps the CLI waiting while the timer fires
    const dir = mkdtempSync(join(tmpdir(), 'rfc5549d-fatal-'));
    const server = createServer(() => {}).listen(join(dir, 'control.sock'));
    cleanup.push(() => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    await new Promise((r) => server.once('listening', r));
    const { code, stdout } = await runCli(['status', '--socket', join(dir, 'control.sock')], preload);
    expect(code).toBe(70);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 60, name: 'rfc5549d', event: 'fatal', origin, err: { type } });
  });
});
