// The JSON-lines server on a real Unix socket (no root, no kernel): the guard per line and
// the bound on replies queued for a client that does not read them (issue 12).
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRtTables } from '../../src/model/route-table.js';
import { Rib } from '../../src/rib/rib.js';
import { VrfRoutes } from '../../src/rib/vrf-routes.js';
import { JsonlSource, MAX_QUEUED_REPLY_BYTES } from '../../src/sources/jsonl-server.js';
import { waitFor } from '../helpers/netns.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  while (cleanup.length > 0) cleanup.pop()!();
});

function startSource(rib: Rib): { source: JsonlSource; logs: Array<Record<string, unknown>>; socket: string; ready: Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'rfc5549d-jsonl-'));
  const socket = join(dir, 'routes.sock');
  const logs: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const source = new JsonlSource(
    { socket, withdrawOnDisconnect: false, maxLineBytes: 65_536, context: { defaultTable: 254, tables: parseRtTables(''), vrfTable: () => undefined }, vrfRoutes: new VrfRoutes() },
    rib,
    log,
  );
  cleanup.push(() => {
    source.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { source, logs, socket, ready: source.start() };
}

async function connect(path: string): Promise<Socket> {
  const c = createConnection(path);
  cleanup.push(() => c.destroy());
  await new Promise<void>((resolve, reject) => c.once('connect', resolve).once('error', reject));
  return c;
}

const replies = (c: Socket): Array<Record<string, unknown>> => {
  const out: Array<Record<string, unknown>> = [];
  let buf = '';
  c.setEncoding('utf8');
  c.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      out.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      buf = buf.slice(nl + 1);
    }
  });
  return out;
};

describe('JSON-lines server', () => {
  it('a line whose handling throws is answered and logged; the connection and the daemon go on', async () => {
    const rib = new Rib();
    const realAdd = rib.add.bind(rib);
    rib.add = (session, route) => {
      if (route.prefix.key === '10.66.0.0/24') throw new TypeError('Cannot read properties of undefined (reading \u001b[31m"x")');
      return realAdd(session, route);
    };
    const { source, logs, socket, ready } = startSource(rib);
    await ready;
    const c = await connect(socket);
    const got = replies(c);
    const add = (p: string) => `${JSON.stringify({ op: 'add', prefix: p, nexthops: [{ via: 'fe80::1', dev: 'eth1' }] })}\n`;
    c.write(add('10.66.0.0/24') + add('10.67.0.0/24') + '{"op":"constructor"}\n');
    await waitFor('two replies', () => got.length === 2);
    expect(got[0]).toEqual({ error: 'line: could not be handled: Cannot read properties of undefined (reading \\u001b[31m"x")', code: 'INTERNAL', line: 1 });
    expect(got[1]).toMatchObject({ code: 'INPUT_INVALID', line: 3, error: expect.stringMatching(/^op: unknown op "constructor"/) });
    expect(rib.size).toBe(1);
    expect(source.stats()).toMatchObject({ lines: 3, rejected: 2, failed: 1 });
    expect(logs.find((l) => l.event === 'sourceLineFailed')).toMatchObject({ line: 1, excerpt: expect.stringMatching(/^"\{\\"op\\":\\"add\\"/) });
    expect(logs.filter((l) => l.event === 'sourceLineRejected').map((l) => l.field)).toEqual(['line', 'op']);
  });

  it('a client that floods bad lines and never reads is paused: replies queued in the daemon stay bounded', async () => {
    const { source, socket, ready } = startSource(new Rib());
    await ready;
    const c = await connect(socket); // no 'data' listener: the client reads nothing
    const LINES = 200_000;
    const bad = '{"op":"nope"}\n'; // 14 bytes in, a reply of about 110 bytes out
    const chunk = bad.repeat(5000);
    for (let i = 0; i < LINES / 5000; i++) c.write(chunk);
    // The daemon stops reading this client once its replies back up; the flood then waits in
    // the client's own buffers, not in the daemon's.
    await waitFor('the daemon pauses the client', () => source.stats().pausedForReplies > 0 && c.writableLength > 0);
    expect(source.stats().lines).toBeLessThan(LINES);
    expect(source.stats().queuedReplyBytes).toBeLessThanOrEqual(MAX_QUEUED_REPLY_BYTES + 256);
    // Once the client reads, every line is answered or counted as a dropped reply.
    const got = replies(c);
    await waitFor('every line handled', () => source.stats().rejected === LINES && got.length + source.stats().repliesDropped === LINES, 30_000);
    expect(got.every((r) => r.code === 'INPUT_INVALID')).toBe(true);
    expect(source.stats().queuedReplyBytes).toBeLessThanOrEqual(MAX_QUEUED_REPLY_BYTES + 256);
  });
});
