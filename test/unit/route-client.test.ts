// rfc5549d add / withdraw: the command line to a JSON-lines line, and the ack exchange
// against the real JSON-lines server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addLine, DaemonRefusal, parseVias, sendRouteLine, UsageError, withdrawLine } from '../../src/cli/route-client.js';
import { Rfc5549Error } from '../../src/errors.js';
import { defaultTableNames } from '../../src/model/route-table.js';
import { Rib } from '../../src/rib/rib.js';
import { VrfRoutes } from '../../src/rib/vrf-routes.js';
import { JsonlSource } from '../../src/sources/jsonl-server.js';

describe('rfc5549d add / withdraw: the command line', () => {
  it('via <link-local>%<interface>, once per leg; --table as a number or a name; --vrf', () => {
    expect(addLine('10.1.0.0/24', ['via', 'fe80::1%eth1', 'via', 'fe80::2%eth2'], {})).toEqual({
      op: 'add', prefix: '10.1.0.0/24', nexthops: [{ via: 'fe80::1', dev: 'eth1' }, { via: 'fe80::2', dev: 'eth2' }],
    });
    expect(addLine('10.1.0.0/24', ['via', 'fe80::1%eth1'], { table: '100' })).toMatchObject({ table: 100 });
    expect(addLine('10.1.0.0/24', ['via', 'fe80::1%eth1'], { table: 'blue' })).toMatchObject({ table: 'blue' });
    expect(withdrawLine('10.1.0.0/24', { vrf: 'red' })).toEqual({ op: 'withdraw', prefix: '10.1.0.0/24', vrf: 'red' });
  });

  it.each([
    [[], /no next hop/],
    [['fe80::1%eth1'], /expected "via" before each next hop, got "fe80::1%eth1"/],
    [['via'], /"via" at the end/],
    [['via', 'fe80::1'], /expected <link-local>%<interface>/],
    [['via', 'fe80::1%'], /expected <link-local>%<interface>/],
    [['via', `${'x'.repeat(5000)}`], /…"/],
  ])('%j is a usage error (exit 2), with a bounded excerpt', (words, message) => {
    expect(() => parseVias(words)).toThrow(UsageError);
    expect(() => parseVias(words)).toThrow(message);
  });

  it('--table and --vrf together are refused', () => {
    expect(() => withdrawLine('10.1.0.0/24', { table: '5', vrf: 'red' })).toThrow(UsageError);
  });
});

describe('rfc5549d add / withdraw: the ack exchange', () => {
  let dir: string;
  let rib: Rib;
  let source: JsonlSource;
  let socket: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rfc5549d-cli-'));
    socket = join(dir, 'routes.sock');
    rib = new Rib();
    source = new JsonlSource({
      socket,
      withdrawOnDisconnect: false,
      maxLineBytes: 65536,
      context: { defaultTable: 5549, tables: defaultTableNames(), vrfTable: () => undefined },
      vrfRoutes: new VrfRoutes(),
    }, rib, pino({ level: 'silent' }));
    await source.start();
  });
  afterAll(() => {
    source.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const held = (table: number, prefix: string): boolean =>
    [...rib.desiredSlots()].some((s) => rib.routeAt(s)?.prefix.key === prefix && rib.routeAt(s)?.table === table);

  it('an added route is held once the ack comes, and stays after the client disconnected', async () => {
    await sendRouteLine(socket, addLine('10.1.0.0/24', ['via', 'fe80::a00:27ff:fe25:4c23%eth1'], {}));
    await new Promise((r) => setTimeout(r, 50)); // the server sees the close
    expect(source.stats().active).toBe(0);
    expect(held(5549, '10.1.0.0/24')).toBe(true);
    await sendRouteLine(socket, withdrawLine('10.1.0.0/24', {}));
    expect(held(5549, '10.1.0.0/24')).toBe(false);
  });

  it('a refused line rejects with the daemon\'s field, value and code', async () => {
    const err = await sendRouteLine(socket, addLine('10.1.0.0/24', ['via', '2001:db8::1%eth1'], {})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DaemonRefusal);
    expect((err as DaemonRefusal).code).toBe('INPUT_INVALID');
    expect((err as DaemonRefusal).error).toMatch(/^nexthops\[0\]\.via: .*2001:db8::1/);
    expect(held(5549, '10.1.0.0/24')).toBe(false);
  });

  it('no daemon: SOURCE_IO naming the socket', async () => {
    const err = await sendRouteLine(join(dir, 'none.sock'), withdrawLine('10.1.0.0/24', {})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Rfc5549Error);
    expect((err as Rfc5549Error).message).toContain('none.sock');
  });
});
