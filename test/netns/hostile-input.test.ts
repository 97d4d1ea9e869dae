// Issue 12 against the real daemon in a namespace: lines that used to end the process, a
// client that floods without reading, and a SIGHUP with a config at the size cap.
import { readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { daemonPerTest } from '../helpers/daemon-per-test.js';
import { kernelSuiteEnabled, PEER_ADDR, PEER_LL, waitFor } from '../helpers/netns.js';

const enabled = kernelSuiteEnabled('hostile input: JSON lines and config (netns)');
const PROTO = 200;
const TABLE = 254;
const CONFIG = { kernel: { protocol: PROTO, table: TABLE } };
const add = (prefix: string) => ({ op: 'add', prefix, nexthops: [{ via: PEER_LL, dev: 'h0' }] });

interface JsonlStatus { lines: number; rejected: number; failed: number; repliesDropped: number; pausedForReplies: number; queuedReplyBytes: number }

describe.runIf(enabled)('hostile input', () => {
  const bed = daemonPerTest();
  const ownRoutes = () => bed.topo.host.json<{ dst: string }>('route', 'show', 'table', String(TABLE), 'proto', String(PROTO)).map((r) => r.dst).sort();
  const jsonlStatus = () => (JSON.parse(bed.daemon.cli('status', '--json')) as { sources: { jsonl: JsonlStatus } }).sources.jsonl;
  const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${bed.daemon.pid}/status`, 'utf8'))![1]);

  it('prototype names and deep nesting get error replies; the daemon and its routes stay', async () => {
    const daemon = await bed.start(CONFIG);
    const feed = await bed.connect();
    feed.send(add(`${PEER_ADDR}/32`));
    await waitFor('route installed', () => ownRoutes().length === 1);
    const deep = `${'['.repeat(4000)}${']'.repeat(4000)}`;
    feed.send(
      { op: 'constructor' },
      { op: 'toString', prefix: '10.1.0.0/24' },
      { op: '__proto__' },
      `{"op":"add","prefix":"10.99.5.0/24","nexthops":[{"via":"${PEER_LL}","dev":"h0"}],"hasOwnProperty":1}`,
      deep,
      `{"op":"add","prefix":${deep}}`,
      `{"op":"add","prefix":"10.99.5.0/24","nexthops":[{"via":${deep},"dev":"h0"}]}`,
    );
    await waitFor('seven replies', () => feed.replies.length === 7);
    expect(feed.replies.map((r) => r.code)).toEqual(Array(7).fill('INPUT_INVALID'));
    expect(feed.replies.map((r) => String(r.error).split(':')[0])).toEqual(['op', 'op', 'op', 'hasOwnProperty', 'line', 'prefix', 'nexthops']);
    // still running, still answering, the route kept
    feed.send(add('10.99.2.0/24'));
    await waitFor('route after the bad lines', () => ownRoutes().length === 2);
    expect(daemon.logs().some((l) => l.event === 'fatal')).toBe(false);
    expect(jsonlStatus()).toMatchObject({ rejected: 7, failed: 0 });
  });

  it('a client that floods bad lines without reading is paused; the daemon does not buffer its replies', async () => {
    const daemon = await bed.start(CONFIG);
    jsonlStatus(); // warm the status path, so that its own allocations are not counted below
    const rssBefore = rssKb();
    const flood = createConnection(daemon.socket); // never read from
    await new Promise((r) => flood.once('connect', r));
    const chunk = '{"op":"nope"}\n'.repeat(10_000);
    // 2M bad lines (28 MB), written regardless of the socket pushing back, as the issue's
    // attacker did: what the daemon does not read waits in this process's buffers.
    let sent = 0;
    while (sent < 2_000_000) {
      flood.write(chunk);
      sent += 10_000;
    }
    const paused = await waitFor('daemon paused the flooder', () => {
      const s = jsonlStatus();
      return s.pausedForReplies > 0 && s.lines < sent ? s : undefined;
    });
    expect(paused.queuedReplyBytes).toBeLessThanOrEqual(64 * 1024 + 256);
    // The replies it owes are bounded, so RSS barely moves (before: 2M lines grew it by 800 MB;
    // now about 7-13 MB, most of it the heap the status calls and the 4700 lines it read grow).
    expect(rssKb() - rssBefore).toBeLessThan(32 * 1024);
    expect(flood.writableLength).toBeGreaterThan(20 * 1024 * 1024);
    // Others are served meanwhile.
    const feed = await bed.connect();
    feed.send(add(`${PEER_ADDR}/32`));
    await waitFor('route installed while the flooder waits', () => ownRoutes().length === 1);
    flood.destroy();
  });

  it('a SIGHUP with a config at the size cap is parsed off the event loop: routes are handled meanwhile', async () => {
    const daemon = await bed.start(CONFIG);
    const feed = await bed.connect();
    // The worst layout for the parser: a flow list of one-letter items, just under 256 KiB
    // (refused after parsing: more than 4096 interfaces). About a second to parse.
    const original = readFileSync(daemon.configFile, 'utf8');
    let items = '';
    while (original.length + items.length < 256 * 1024 - 32) items += 'a,';
    writeFileSync(daemon.configFile, `${original}interfaces: [${items}a]\n`);
    const from = daemon.logs().length;
    daemon.signal('SIGHUP');
    await waitFor('reload started', () => daemon.logs().slice(from).some((l) => l.event === 'reloadStarted'));
    feed.send(add(`${PEER_ADDR}/32`));
    await waitFor('route installed', () => ownRoutes().length === 1);
    const installedAt = daemon.logs().findIndex((l, i) => i >= from && l.event === 'routeWritten');
    const failed = await waitFor('reload failed', () => daemon.logs().find((l) => l.event === 'reloadFailed'));
    expect(failed.problems).toEqual([expect.stringMatching(/^interfaces: at most 4096 interface names or globs \(value \["a","a",.*…\)$/)]);
    expect(installedAt).toBeGreaterThanOrEqual(0);
    expect(installedAt).toBeLessThan(daemon.logs().findIndex((l) => l.event === 'reloadFailed'));
  });
});
