// One rfc5549d per runtime directory. Two daemons sharing a directory would take each
// other's sockets: a second one unlinked the first's control socket, and deleted it again
// when it exited. flock(2) (native/icmp6/run_lock.cc) is released by the kernel when the
// holder dies, even by SIGKILL, so a crash leaves nothing to clean up. The lock file stays
// on exit: unlinking it would let a third process lock a fresh inode while a second still
// waits on the old one.
import { closeSync, constants, mkdirSync, openSync, readSync, ftruncateSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Config } from '../config/config.js';
import { Rfc5549Error } from '../errors.js';

export const LOCK_FILE = 'rfc5549d.lock';

type TryLock = (fd: number) => boolean;

function loadNative(): TryLock {
  const require = createRequire(import.meta.url);
  let cause: unknown;
  // from dist/src/runtime (the built daemon) or src/runtime (unit tests run the sources)
  for (const up of ['../../..', '../..']) {
    try {
      return (require(`${up}/native/icmp6/build/Release/run_lock.node`) as { tryLockExclusive: TryLock }).tryLockExclusive;
    } catch (err) {
      cause ??= err;
    }
  }
  throw new Rfc5549Error('UNSUPPORTED', 'the run_lock addon is not built (run npm ci: scripts/build-native.mjs)', { cause });
}

/**
 * The directories whose sockets this configuration uses: control.socket's, and the JSON-lines
 * socket's when that source is on and listens on a path. Each distinct one is locked.
 */
export function runtimeDirectories(config: Config): string[] {
  const dirs = new Set([dirname(config.control.socket)]);
  const jsonl = config.sources.jsonl;
  if (jsonl.enabled && jsonl.socket !== '-') dirs.add(dirname(jsonl.socket));
  return [...dirs].sort();
}

/** What another process wrote into a lock file: its pid, or a marker when it is not one. */
export function holderPid(text: string): string {
  const t = text.trim();
  return /^\d{1,10}$/.test(t) ? t : 'unknown';
}

export class RunLock {
  private constructor(private fds: number[], readonly paths: readonly string[]) {}

  /**
   * Locks `rfc5549d.lock` in each directory (made if missing) and writes our pid into it, or
   * throws INSTANCE_LOCKED naming the file and the pid holding it; nothing stays locked then.
   */
  static acquire(dirs: readonly string[], tryLock: TryLock = loadNative()): RunLock {
    const fds: number[] = [];
    const paths: string[] = [];
    try {
      for (const dir of dirs) {
        mkdirSync(dir, { recursive: true, mode: 0o755 });
        const path = join(dir, LOCK_FILE);
        const fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
        if (!tryLock(fd)) {
          const buf = Buffer.alloc(32);
          const n = readSync(fd, buf, 0, buf.length, 0);
          closeSync(fd);
          const pid = holderPid(buf.subarray(0, n).toString('latin1'));
          throw new Rfc5549Error('INSTANCE_LOCKED',
            `another rfc5549d (pid ${pid}) holds ${path}: one instance per runtime directory (the directory of control.socket and of sources.jsonl.socket); stop it, or give this one other socket paths`);
        }
        fds.push(fd);
        paths.push(path);
        ftruncateSync(fd, 0);
        writeSync(fd, `${process.pid}\n`, 0);
      }
    } catch (err) {
      for (const fd of fds) closeSync(fd);
      throw err;
    }
    return new RunLock(fds, paths);
  }

  /** Closing the files drops the locks (process exit does the same). */
  release(): void {
    for (const fd of this.fds) closeSync(fd);
    this.fds = [];
  }
}
