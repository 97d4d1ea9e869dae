// The seam to the netlink package: if an upgrade, a reinstall without the patch, or a
// prebuilt binding changes what src/kernel/netlink-socket.ts relies on, these fail and say
// what moved. No root needed: a NETLINK_ROUTE socket, NETLINK_EXT_ACK and the ACK overrun
// below are open to any user.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeAck, MessageWriter, NETLINK_EXT_ACK, NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR, NLMSG_NOOP, SOL_NETLINK, splitMessages } from '../../src/kernel/netlink-codec.js';
import { bindingProblems, installedNetlinkVersion, NETLINK_PACKAGE_VERSION, openRouteSocket, type NetlinkSocket } from '../../src/kernel/netlink-socket.js';

const require = createRequire(import.meta.url);
const packageDir = dirname(require.resolve('netlink/package.json'));
const patchFile = join(import.meta.dirname, '../../patches', `netlink+${NETLINK_PACKAGE_VERSION}.patch`);

function collect(handlers: { overruns: number; errors: Error[]; acks: { errno: number; seq: number }[] }): NetlinkSocket {
  return openRouteSocket({
    message: (buf) => {
      for (const m of splitMessages(buf).messages) if (m.type === NLMSG_ERROR) handlers.acks.push(decodeAck(m));
    },
    overrun: () => handlers.overruns++,
    error: (err) => handlers.errors.push(err),
  });
}

/** `count` NLMSG_NOOP requests asking for an ACK: the kernel ACKs each (errno 0) inside sendmsg */
function noops(count: number, firstSeq: number): Buffer {
  const w = new MessageWriter(count * 16);
  for (let i = 0; i < count; i++) w.begin(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, firstSeq + i).end();
  return w.take();
}

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!ok()) throw new Error(`never happened: ${what}`);
}

describe('the netlink package behind src/kernel/netlink-socket.ts', () => {
  it(`is version ${NETLINK_PACKAGE_VERSION}, the one the patch is written for`, () => {
    expect(installedNetlinkVersion(), 'node_modules/netlink/package.json version: bump patches/ and NETLINK_PACKAGE_VERSION together').toBe(NETLINK_PACKAGE_VERSION);
    expect(readdirSync(join(import.meta.dirname, '../../patches')).filter((f) => f.startsWith('netlink+'))).toEqual([`netlink+${NETLINK_PACKAGE_VERSION}.patch`]);
  });

  it('has every added line of the patch in its binding source (patch-package ran)', () => {
    const source = readFileSync(join(packageDir, 'src/binding.cc'), 'utf8');
    const added = readFileSync(patchFile, 'utf8').split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++')).map((l) => l.slice(1).trim()).filter((l) => l !== '');
    expect(added.length).toBeGreaterThan(10);
    expect(added.filter((l) => !source.includes(l)), 'lines of the patch missing from node_modules/netlink/src/binding.cc').toEqual([]);
  });

  it('loads the binding built from that source, not a prebuild', () => {
    const loaded = Object.keys(require.cache).filter((k) => k.endsWith('.node') && k.startsWith(packageDir));
    expect(loaded, 'the netlink binding node-gyp-build loaded (scripts/build-native.mjs builds build/Release)').toEqual([join(packageDir, 'build/Release/netlink_binding.node')]);
  });

  it('names what is missing when __native is not the shape it expects', () => {
    expect(bindingProblems(undefined)).toEqual(["RawNetlinkSocket.__native is undefined, not the binding's NativeNetlink object"]);
    const unpatched = { bind() {}, send() {}, close() {}, addMembership() {}, dropMembership() {}, getRecvBufferSize() {}, setRecvBufferSize() {}, setSendBufferSize() {} };
    expect(bindingProblems(unpatched)).toEqual([
      'RawNetlinkSocket.__native.setSockOptInt is missing: the binding is not our patched build',
      'RawNetlinkSocket.__native.getSockOptInt is missing: the binding is not our patched build',
    ]);
    const moved: Record<string, unknown> = { ...unpatched, setSockOptInt() {}, getSockOptInt() {} };
    delete moved.send;
    expect(bindingProblems(moved)).toEqual(['RawNetlinkSocket.__native.send is not a function']);
  });

  it('opens a socket whose patched integer options round-trip', async () => {
    const seen = { overruns: 0, errors: [] as Error[], acks: [] as { errno: number; seq: number }[] };
    const sock = collect(seen);
    try {
      expect(sock.portId).toBeGreaterThan(0);
      sock.setIntOption(SOL_NETLINK, NETLINK_EXT_ACK, 1);
      expect(sock.getIntOption(SOL_NETLINK, NETLINK_EXT_ACK)).toBe(1);
      sock.setIntOption(SOL_NETLINK, NETLINK_EXT_ACK, 0);
      expect(sock.getIntOption(SOL_NETLINK, NETLINK_EXT_ACK)).toBe(0);
      sock.send(noops(1, 7), (err) => err && seen.errors.push(err));
      await until('the ACK of one NLMSG_NOOP', () => seen.acks.length === 1);
      expect(seen.acks).toEqual([{ errno: 0, seq: 7 }]);
    } finally {
      sock.close();
    }
  });

  it('reports a receive-buffer overrun as overrun() and keeps the socket working (the ENOBUFS hunk)', async () => {
    const seen = { overruns: 0, errors: [] as Error[], acks: [] as { errno: number; seq: number }[] };
    const sock = collect(seen);
    try {
      sock.setRecvBufferSize(4096); // the kernel doubles it; a few hundred ACKs overflow it
      // the kernel ACKs all 5000 inside this one sendmsg, before we read any: the rest are dropped (sk_err = ENOBUFS)
      sock.send(noops(5000, 1), (err) => err && seen.errors.push(err));
      await until('an overrun reported', () => seen.overruns > 0);
      expect(seen.errors).toEqual([]);
      expect(seen.acks.length).toBeLessThan(5000);
      // still open and reading: an unpatched binding would have closed it (or aborted the process)
      sock.send(noops(1, 9999), (err) => err && seen.errors.push(err));
      await until('the ACK after the overrun', () => seen.acks.some((a) => a.seq === 9999));
      expect(seen.errors).toEqual([]);
    } finally {
      sock.close();
    }
  });
});
