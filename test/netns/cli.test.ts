// The status CLI against a running daemon in a namespace, human and JSON output.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonProcess } from '../helpers/daemon.js';
import { kernelSuiteEnabled, OUR_PROTOCOL, OUR_TABLE, PEER_ADDR, PEER_LL, PEER_MAC, Topology, waitFor } from '../helpers/netns.js';

const enabled = kernelSuiteEnabled('status CLI (netns)');
const GHOST = 'fe80::1234:5678:9abc:def0'; // not EUI-64, never answers

describe.runIf(enabled)('rfc5549d status | routes | peers', () => {
  let topo: Topology;
  let daemon: DaemonProcess;
  beforeAll(async () => {
    topo = Topology.create();
    daemon = new DaemonProcess(topo.host);
    await daemon.start();
    const feed = await daemon.connect();
    feed.send(
      { op: 'add', prefix: `${PEER_ADDR}/32`, nexthops: [{ via: PEER_LL, dev: 'h0' }] },
      { op: 'add', prefix: '10.99.7.0/24', nexthops: [{ via: GHOST, dev: 'h0' }] },
    );
    feed.close();
    await waitFor('one installed', () => topo.host.json('route', 'show', 'table', OUR_TABLE, 'proto', OUR_PROTOCOL).length === 1);
  });
  afterAll(async () => {
    await daemon?.stop('SIGKILL');
    daemon?.cleanup();
    topo?.destroy();
  });

  it('routes: installed and pending with the reason, as JSON and as a table', async () => {
    const routes = await waitFor('pending reported', () => {
      const r = JSON.parse(daemon.cli('routes', '--json')) as { prefix: string; state: string; reason?: string }[];
      return r.length === 2 && r.some((x) => x.state === 'pending') ? r : undefined;
    });
    expect(routes.find((r) => r.prefix === `${PEER_ADDR}/32`)).toMatchObject({ state: 'installed', table: Number(OUR_TABLE), source: expect.stringMatching(/^jsonl#\d+$/) });
    expect(routes.find((r) => r.prefix === '10.99.7.0/24')).toMatchObject({ state: 'pending', reason: expect.stringContaining('not EUI-64') });
    expect(JSON.parse(daemon.cli('routes', '--pending', '--json'))).toHaveLength(1);
    const human = daemon.cli('routes');
    expect(human).toMatch(/^TABLE\s+PREFIX\s+STATE\s+SOURCE\s+NEXT HOPS/);
    expect(human).toMatch(/10\.99\.7\.0\/24\s+pending\s+jsonl#\d+\s/);
  });

  it('peers: MAC with its evidence, unresolved peers with why', () => {
    const peers = JSON.parse(daemon.cli('peers', '--json')) as { linkLocal: string; mac: string | null; evidence: string | null; state: string }[];
    expect(peers.find((p) => p.linkLocal === PEER_LL)).toMatchObject({ interface: 'h0', mac: PEER_MAC, state: 'resolved' });
    expect(peers.find((p) => p.linkLocal === GHOST)).toMatchObject({ mac: null, state: 'unresolved' });
    expect(daemon.cli('peers')).toMatch(/h0\s+fe80::ff:fe00:101\s+02:00:00:00:01:01/);
  });

  it('status: counts that agree with the kernel', () => {
    const s = JSON.parse(daemon.cli('status', '--json')) as { routes: Record<string, number>; links: { name: string; up: boolean }[] };
    expect(s.routes).toMatchObject({ desired: 2, installed: 1, pending: 1, ownedInKernel: 1 });
    expect(s.links).toContainEqual(expect.objectContaining({ name: 'h0', up: true }));
    expect(daemon.cli('status')).toMatch(/routes: 2 desired, 1 installed, 1 pending/);
  });

  // issue 11: a pass that only asks the kernel to solicit an unresolved peer (GHOST, every
  // 3 s) wrote nothing a reader needs: debug, not one info line per pass
  it('passes that only probe an unresolved peer are logged at debug', async () => {
    const from = daemon.logs().length;
    const since = () => daemon.logs().slice(from);
    await waitFor('two probes of the ghost peer', () => since().filter((l) => l.event === 'peerProbed' && l.peer === GHOST).length >= 2, 15_000);
    const passes = since().filter((l) => l.event === 'reconcilePass');
    expect(passes.length).toBeGreaterThan(0);
    expect(passes.filter((l) => l.level !== 20)).toEqual([]);
  });

  // issue 11: with the JSON-lines source off, a second instance used to unlink the running
  // daemon's control socket and take it (and delete it on exit)
  it.each([
    ['with the JSON-lines source off', { enabled: false }],
    ['with the JSON-lines source on the same socket', {}],
  ])('a second daemon with the same runtime directory exits non-zero, naming the lock and its holder (%s)', async (_what, jsonl) => {
    const second = new DaemonProcess(topo.host, { control: { socket: daemon.controlSocket }, sources: { jsonl: { ...jsonl, socket: daemon.socket } } });
    try {
      await expect(second.start()).rejects.toThrow(/exited 1/);
      const log = readFileSync(second.logFile, 'utf8');
      expect(log).toContain(`another rfc5549d (pid ${daemon.pid}) holds ${join(dirname(daemon.controlSocket), 'rfc5549d.lock')}`);
    } finally {
      second.cleanup();
    }
    // the first one still answers on its control socket, and its routes are untouched
    expect(daemon.cli('status')).toMatch(/routes: 2 desired, 1 installed, 1 pending/);
    expect(lstatSync(daemon.socket).isSocket()).toBe(true);
  });

  // issue 11: the quick start needs nothing but the daemon
  it('rfc5549d add: the route is installed and stays after the command exits; withdraw removes it', async () => {
    const table = (): { dst: string; gateway?: string; dev?: string }[] => topo.host.json('route', 'show', 'table', '100');
    const add = daemon.routeCli('add', '10.99.5.0/24', 'via', `${PEER_LL}%h0`, '--table', '100');
    expect(add).toMatchObject({ status: 0, stdout: expect.stringContaining('10.99.5.0/24: added') });
    const r = await waitFor('CLI route installed', () => table().find((x) => x.dst === '10.99.5.0/24'));
    expect(r).toMatchObject({ gateway: '169.254.0.1', dev: 'h0' });
    // the CLI has disconnected: a resync later the route is still there
    daemon.cli('resync');
    expect(table().map((x) => x.dst)).toContain('10.99.5.0/24');
    const wd = daemon.routeCli('withdraw', '10.99.5.0/24', '--table', '100');
    expect(wd).toMatchObject({ status: 0, stdout: expect.stringContaining('withdrawn') });
    await waitFor('CLI route withdrawn', () => !table().some((x) => x.dst === '10.99.5.0/24'));
  });

  it('rfc5549d add: the daemon\'s refusal (field and value) and exit 1; a malformed command line exits 2 and sends nothing', () => {
    const bad = daemon.routeCli('add', '10.99.5.0/33', 'via', `${PEER_LL}%h0`);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/prefix: .*10\.99\.5\.0\/33.*INPUT_INVALID/);
    const notLl = daemon.routeCli('add', '10.99.5.0/24', 'via', '2001:db8::1%h0');
    expect(notLl.status).toBe(1);
    expect(notLl.stderr).toContain('nexthops[0].via');
    const usage = daemon.routeCli('add', '10.99.5.0/24', `${PEER_LL}%h0`);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('expected "via"');
    const nobody = spawnSync(process.execPath, ['dist/src/main.js', 'withdraw', '10.99.5.0/24', '--socket', `${daemon.dir}/nobody.sock`], { encoding: 'utf8' });
    expect(nobody.status).toBe(1);
    expect(nobody.stderr).toContain('cannot reach the daemon');
    expect(JSON.parse(daemon.cli('routes', '--json'))).toHaveLength(2); // nothing was added
  });

  // issue 11: the embedded default used to take zebra's main-table routes for its own
  it('check-config and run refuse an FRR protocol in main with FPM on: exit 2, naming the keys', () => {
    const file = join(daemon.dir, 'fights-zebra.yaml');
    writeFileSync(file, stringify({
      kernel: { protocol: 186, table: 254 },
      sources: { fpm: { enabled: true }, jsonl: { socket: join(daemon.dir, 'z-routes.sock') } },
      control: { socket: join(daemon.dir, 'z-control.sock') },
    }));
    const check = spawnSync(process.execPath, ['dist/src/main.js', 'check-config', file], { encoding: 'utf8' });
    // in the test namespace: were the check missing, the daemon would start there, not in ours
    const run = spawnSync('ip', ['netns', 'exec', topo.host.name, process.execPath, 'dist/src/main.js', 'run', '--config', file], { encoding: 'utf8', timeout: 20_000 });
    for (const r of [check, run]) {
      expect(r.status).toBe(2);
      for (const key of ['kernel.protocol', 'kernel.table', 'sources.fpm.enabled']) expect(r.stderr).toContain(key);
    }
    expect(existsSync(join(daemon.dir, 'z-control.sock'))).toBe(false); // it never got as far as a socket
  });
});
