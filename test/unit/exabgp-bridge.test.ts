// The bridge's I/O shell against a stand-in daemon on a real Unix socket (no root): what the
// daemon is sent on the first connection, while it is away, on its return, and at the end.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runExabgpBridge } from '../../src/cli/exabgp-bridge.js';
import { bridgeOptionsFrom } from '../../src/cli/exabgp-command.js';
import { waitFor } from '../helpers/netns.js';

const lines = readFileSync(new URL('../fixtures/exabgp/updates.jsonl', import.meta.url), 'utf8').split('\n').filter((l) => l.trim() !== '');
const dir = mkdtempSync(join(tmpdir(), 'rfc5549d-exabgp-'));
const path = join(dir, 'routes.sock');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for the daemon's JSON-lines socket that keeps every line it is sent. */
class FakeDaemon {
  readonly received: Record<string, unknown>[] = [];
  private server: Server | undefined;
  private readonly socks = new Set<Socket>();

  async listen(): Promise<void> {
    rmSync(path, { force: true });
    const server = createServer((s) => {
      this.socks.add(s);
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
          this.received.push(line);
          buf = buf.slice(i + 1);
          // answer a refusal the way the daemon does, for the bridge to report
          if (line.prefix === '10.99.2.0/24' && line.op === 'add') s.write('{"error":"prefix: refused for the test","code":"ROUTE_FILTERED","line":2}\n');
        }
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(path, r));
    this.server = server;
  }

  async close(): Promise<void> {
    for (const s of this.socks) s.destroy();
    this.socks.clear();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  take(): Record<string, unknown>[] {
    return this.received.splice(0);
  }
}

describe('rfc5549d exabgp: the bridge between ExaBGP and the daemon socket', () => {
  it('streams, keeps state while the daemon is away, replays it on return, withdraws at the end', async () => {
    const daemon = new FakeDaemon();
    await daemon.listen();
    const input = new PassThrough();
    let errors = '';
    const sink = new Writable({ write: (c: Buffer, _e, cb) => ((errors += c.toString()), cb()) });
    const done = runExabgpBridge({ socket: path, neighbours: new Map([['fe80::ff:fe00:101', 'h0']]), maxLineBytes: 4096, maxRoutes: 100, maxNeighbours: 8 }, { input, errors: sink });
    const nh = [{ via: 'fe80::ff:fe00:101', dev: 'h0' }];

    input.write(`${lines.slice(0, 4).join('\n')}\n`);
    await waitFor('three adds', () => daemon.received.length >= 3);
    expect(daemon.take()).toEqual([
      { op: 'add', prefix: '10.99.1.1/32', nexthops: nh },
      { op: 'add', prefix: '10.99.2.0/24', nexthops: nh },
      { op: 'add', prefix: '10.99.3.0/24', nexthops: nh },
    ]);
    await waitFor('the refusal reported', () => errors.includes('the daemon refused a line: {"error":"prefix: refused for the test"'));

    // the daemon goes away; a withdraw and garbage arrive meanwhile
    await daemon.close();
    await waitFor('the bridge saw it go', () => errors.includes('the daemon went away'));
    input.write(`${lines[4]}\nnot json\n${'x'.repeat(5000)}\n`);
    await new Promise((r) => setTimeout(r, 300));
    await daemon.listen();
    await waitFor('the replay', () => daemon.received.at(-1)?.op === 'sync-end', 10_000);
    expect(daemon.take()).toEqual([
      { op: 'sync-begin' },
      { op: 'add', prefix: '10.99.1.1/32', nexthops: nh },
      { op: 'add', prefix: '10.99.2.0/24', nexthops: nh },
      { op: 'sync-end' },
    ]);
    expect(errors).toContain('ignored a message: not JSON');
    expect(errors).toContain('ignored a message longer than 4096 bytes');

    // the session drops: ExaBGP says so with a state message only
    input.write(`${lines[6]}\n`);
    await waitFor('withdraws', () => daemon.received.length >= 2);
    expect(daemon.take()).toEqual([{ op: 'withdraw', prefix: '10.99.1.1/32' }, { op: 'withdraw', prefix: '10.99.2.0/24' }]);

    // back up, one prefix, then ExaBGP exits (our stdin closes)
    input.write(`${lines[9]}\n`);
    await waitFor('re-announced', () => daemon.received.length >= 1);
    input.end();
    expect(await done).toBe(0);
    expect(daemon.take()).toEqual([{ op: 'add', prefix: '10.99.1.1/32', nexthops: nh }, { op: 'withdraw', prefix: '10.99.1.1/32' }]);
    expect(errors).toMatch(/ExaBGP closed our input; withdrew 1 prefixes; 8 messages, 4 announced, 1 withdrawn, 1 neighbour downs, 2 invalid/);
    await daemon.close();
  });
});

describe('rfc5549d exabgp options', () => {
  it('--socket, or sources.jsonl.socket from --config, or the embedded default', () => {
    expect(bridgeOptionsFrom({ socket: '/x/r.sock' }).socket).toBe('/x/r.sock');
    const cfg = join(dir, 'd.yaml');
    writeFileSync(cfg, 'sources:\n  jsonl:\n    socket: /y/routes.sock\n');
    expect(bridgeOptionsFrom({ config: cfg }).socket).toBe('/y/routes.sock');
    expect(bridgeOptionsFrom({}).socket).toBe('/run/rfc5549d/routes.sock');
    writeFileSync(cfg, "sources:\n  jsonl:\n    socket: '-'\n");
    expect(() => bridgeOptionsFrom({ config: cfg })).toThrow(/sources.jsonl.socket is "-"/);
  });
  it('--neighbor and --table are checked, naming the value', () => {
    const o = bridgeOptionsFrom({ socket: '/s', neighbor: ['fe80::ff:fe00:101=h0'], table: '1000' });
    expect([...o.neighbours]).toEqual([['fe80::ff:fe00:101', 'h0']]);
    expect(o.table).toBe(1000);
    expect(() => bridgeOptionsFrom({ socket: '/s', neighbor: ['h0'] })).toThrow('--neighbor: expected ADDRESS=IFNAME, got "h0"');
    for (const t of ['0', '255', 'main', '-1', '99999999999']) expect(() => bridgeOptionsFrom({ socket: '/s', table: t })).toThrow(`--table: expected a table number (not 0 or 255), got "${t}"`);
  });
});
