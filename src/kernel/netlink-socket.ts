// The one module that knows the `netlink` package (0.3.0) and our patch of its binding
// (patches/netlink+0.3.0.patch): its private `__native`, the patched setSockOptInt /
// getSockOptInt, and that an overrun arrives as an ENOBUFS error on a socket that stays
// open. Everything else speaks NetlinkSocket. test/unit/netlink-socket.test.ts fails,
// naming what moved, if the package or the patch is not what this module expects.
import { createRequire } from 'node:module';
import { generateLocalPort, RawNetlinkSocket } from 'netlink';
import { Rfc5549Error } from '../errors.js';

/** the version patches/netlink+0.3.0.patch is written against */
export const NETLINK_PACKAGE_VERSION = '0.3.0';

const NETLINK_ROUTE = 0;
const REBUILD_HINT = 'run npm ci: postinstall applies patches/netlink+0.3.0.patch (patch-package) and rebuilds the binding (scripts/build-native.mjs)';

/** the methods of the binding's NativeNetlink object that this module calls */
const NATIVE_METHODS = ['bind', 'send', 'close', 'addMembership', 'dropMembership', 'getRecvBufferSize', 'setRecvBufferSize', 'setSendBufferSize'] as const;
/** the ones our patch adds */
const PATCHED_METHODS = ['setSockOptInt', 'getSockOptInt'] as const;

interface PatchedNative {
  setSockOptInt(level: number, name: number, value: number): void;
  getSockOptInt(level: number, name: number): number;
}

export interface NetlinkSocketHandlers {
  /** one datagram: one or more netlink messages */
  message(buf: Buffer): void;
  /** the kernel dropped messages for us (ENOBUFS); the socket stays open */
  overrun(): void;
  /** any other socket error */
  error(err: Error & { code?: string }): void;
}

/** A bound NETLINK_ROUTE socket. */
export interface NetlinkSocket {
  /** our netlink port id: the kernel stamps it on the events our own requests cause */
  readonly portId: number;
  /** one sendmsg; `done` gets the error, if any (its `code` is the errno name) */
  send(bytes: Buffer, done: (err: (Error & { code?: string }) | undefined) => void): void;
  /** setsockopt(level, name, int) */
  setIntOption(level: number, name: number, value: number): void;
  /** getsockopt(level, name) as an int */
  getIntOption(level: number, name: number): number;
  /** SO_RCVBUF / SO_SNDBUF, capped by net.core.*mem_max (the fallback without CAP_NET_ADMIN) */
  setRecvBufferSize(bytes: number): void;
  setSendBufferSize(bytes: number): void;
  recvBufferBytes(): number;
  joinGroup(group: number): void;
  leaveGroup(group: number): void;
  close(): void;
}

/**
 * The shape this module needs, or the list of what is missing. Exported for the test, which
 * also checks the package version and that the patch is in the binding's source.
 */
export function bindingProblems(native: unknown): string[] {
  if (typeof native !== 'object' || native === null) return [`RawNetlinkSocket.__native is ${native === null ? 'null' : typeof native}, not the binding's NativeNetlink object`];
  const obj = native as Record<string, unknown>;
  const problems: string[] = [];
  for (const m of NATIVE_METHODS) if (typeof obj[m] !== 'function') problems.push(`RawNetlinkSocket.__native.${m} is not a function`);
  for (const m of PATCHED_METHODS) {
    if (typeof obj[m] !== 'function') problems.push(`RawNetlinkSocket.__native.${m} is missing: the binding is not our patched build`);
  }
  return problems;
}

/** the installed package's version (package.json), undefined if unreadable */
export function installedNetlinkVersion(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url)('netlink/package.json') as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

/** Opens and binds a NETLINK_ROUTE socket on a port we choose (the package does not tell its own). */
export function openRouteSocket(handlers: NetlinkSocketHandlers): NetlinkSocket {
  const { sock, port } = bindSocket();
  const native = (sock as unknown as { __native: unknown }).__native;
  const problems = bindingProblems(native);
  if (problems.length > 0) {
    sock.close();
    throw new Rfc5549Error('KERNEL_IO', `the netlink binding is not what src/kernel/netlink-socket.ts expects: ${problems.join('; ')} (${REBUILD_HINT})`);
  }
  const patched = native as PatchedNative;
  sock.on('message', (buf) => handlers.message(buf));
  // The patch turns a receive-buffer overrun into this error, the socket kept open.
  sock.on('error', (err) => (err.code === 'ENOBUFS' ? handlers.overrun() : handlers.error(err)));
  return {
    portId: port,
    send: (bytes, done) => sock.send(bytes, {}, (err) => done(err)),
    setIntOption: (level, name, value) => patched.setSockOptInt(level, name, value),
    getIntOption: (level, name) => patched.getSockOptInt(level, name),
    setRecvBufferSize: (bytes) => {
      sock.setRecvBufferSize(bytes);
    },
    setSendBufferSize: (bytes) => {
      sock.setSendBufferSize(bytes);
    },
    recvBufferBytes: () => sock.getRecvBufferSize(),
    joinGroup: (group) => sock.addMembership(group),
    leaveGroup: (group) => sock.dropMembership(group),
    close: () => sock.close(),
  };
}

function bindSocket(): { sock: RawNetlinkSocket; port: number } {
  for (let tries = 0; ; tries++) {
    const port = generateLocalPort();
    try {
      return { sock: new RawNetlinkSocket(NETLINK_ROUTE, { localPort: port, recvBufferSize: 0, sendBufferSize: 0 }), port };
    } catch (err) {
      if ((err as { code?: string }).code !== 'EADDRINUSE' || tries >= 100) throw err;
    }
  }
}
