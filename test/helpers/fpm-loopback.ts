// An FpmSource on real loopback TCP (port 0, no root) feeding a fresh Rib, and the zebra
// stand-ins a test connects: made per test, torn down after it (afterEach), even on failure.
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { writeNewRoute } from '../../src/kernel/rtnetlink-codec.js';
import { Rib } from '../../src/rib/rib.js';
import { FpmSource, type FpmSourceOptions } from '../../src/sources/fpm/fpm-server.js';
import { fpmFrame, fpmRoute, PEER_VIA } from './fpm-frames.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitUntil(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A frame announcing one /24 (dst) via PEER_VIA on ifindex 2 (h0). */
export const announce = (dst: number): Buffer =>
  fpmFrame((w) => writeNewRoute(w, 0, fpmRoute([{ ifindex: 2, via6: PEER_VIA, flags: 0 }], { dst }), 'replace', false));

export interface FpmLoopback {
  readonly rib: Rib;
  readonly source: FpmSource;
  readonly port: number;
  /** starts this test's source: protocol bgp (186), ifindex 2 is h0, no withdraw hold */
  start(opts: Partial<FpmSourceOptions> & Pick<FpmSourceOptions, 'mainTable' | 'settleTimeMs' | 'staleTimeMs'>): Promise<void>;
  /** a zebra stand-in: connects and writes `frames` (`closed` tells when the source hung up) */
  zebra(...frames: Buffer[]): Promise<Socket>;
}

/** Call in a describe block: the source and connections of each test are closed after it. */
export function fpmLoopbackPerTest(): FpmLoopback {
  let rib: Rib | undefined;
  let source: FpmSource | undefined;
  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets) s.destroy();
    sockets.length = 0;
    source?.stop();
    source = undefined;
    rib = undefined;
  });
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('fpm loopback: start() first');
    return v;
  };
  return {
    get rib() { return started(rib); },
    get source() { return started(source); },
    get port() { return started(source).port!; },
    async start(opts) {
      rib = new Rib();
      source = new FpmSource({
        host: '127.0.0.1', port: 0, protocols: new Set([186]), allowReplace: false, withdrawHoldMs: 0,
        ifname: (i) => (i === 2 ? 'h0' : undefined), ...opts,
      }, rib, pino({ level: 'silent' }));
      await source.start();
    },
    async zebra(...frames) {
      const sock = connect(started(source).port!, '127.0.0.1');
      sockets.push(sock);
      sock.on('error', () => {}); // the source hanging up on it is what some tests wait for
      await new Promise<void>((r) => sock.once('connect', () => r()));
      for (const f of frames) sock.write(f);
      return sock;
    },
  };
}
