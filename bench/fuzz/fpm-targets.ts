// Fuzz targets for the FPM source: framing (FpmFrameReader), decoding (decodeFpmFrame) and
// the session (FpmSession.handle into a sink), the same path fpm-server.ts runs per chunk.
import { Rfc5549Error } from '../../src/errors.js';
import { decodeFpmFrame, type FpmItem } from '../../src/sources/fpm/fpm-decode.js';
import { FpmFrameError, FpmFrameReader } from '../../src/sources/fpm/fpm-framing.js';
import { FpmSession } from '../../src/sources/fpm/fpm-session.js';
import { PropertyViolation, type FuzzTarget } from './harness.js';
import { FPM_IFNAMES, generateMessages, generateStream, layoutMessages, loadFixtureFrames, mutate, splitChunks } from './fpm-gen.js';
import { checkingRib } from './properties.js';

export interface FpmStreamInput {
  readonly chunks: readonly Buffer[];
}

/** 1 in 1000 inputs is one of the complexity shapes (each costs up to seconds today). */
const BOMB_RATE = 0.001;

const streamTarget = (name: string, root: string, run: (chunks: readonly Buffer[]) => void): FuzzTarget<FpmStreamInput> => {
  const fixtures = loadFixtureFrames(root);
  return {
    name,
    fileExt: 'bin',
    generate: (rng) => ({ chunks: splitChunks(rng, generateStream(rng, fixtures, BOMB_RATE)) }),
    run: (input) => run(input.chunks),
    serialize: (input) => Buffer.concat(input.chunks),
    deserialize: (bytes) => ({ chunks: [bytes] }),
  };
};

/** Reads a stream the way the server does: frames until a bad header closes the connection. */
function readFrames(chunks: readonly Buffer[]): { frames: Buffer[]; error: string | undefined; buffered: number } {
  const reader = new FpmFrameReader();
  const frames: Buffer[] = [];
  for (const c of chunks) {
    try {
      frames.push(...reader.push(c));
    } catch (err) {
      if (err instanceof FpmFrameError || err instanceof Rfc5549Error) return { frames, error: err.message, buffered: reader.buffered };
      throw err;
    }
    if (reader.buffered > 0xffff) throw new PropertyViolation('fpm-framing-unbounded', `reader holds ${reader.buffered} bytes, more than one frame`);
  }
  return { frames, error: undefined, buffered: reader.buffered };
}

export function fpmFramingTarget(root: string): FuzzTarget<FpmStreamInput> {
  return streamTarget('fpm-framing', root, (chunks) => {
    const split = readFrames(chunks);
    for (const f of split.frames) if (f.length < 16) throw new PropertyViolation('fpm-framing-short', `a frame of ${f.length} bytes cannot hold a netlink message`);
    if (chunks.length < 2) return;
    // however TCP cut the bytes, the frames are the same
    const whole = readFrames([Buffer.concat(chunks)]);
    if ((whole.error === undefined) !== (split.error === undefined)) {
      throw new PropertyViolation('fpm-framing-split', `whole stream: ${whole.error ?? 'ok'}; in ${chunks.length} chunks: ${split.error ?? 'ok'}`);
    }
    if (whole.error === undefined && (whole.frames.length !== split.frames.length || !Buffer.concat(whole.frames).equals(Buffer.concat(split.frames)) || whole.buffered !== split.buffered)) {
      throw new PropertyViolation('fpm-framing-split', `whole stream gave ${whole.frames.length} frames, ${chunks.length} chunks gave ${split.frames.length}`);
    }
  });
}

export interface FpmPayloadInput {
  readonly payload: Buffer;
}

const ITEM_KINDS = new Set(['route-add', 'route-del', 'route-unusable', 'nexthop-add', 'nexthop-del', 'ignored', 'malformed']);

export function fpmDecodeTarget(root: string): FuzzTarget<FpmPayloadInput> {
  const fixtures = loadFixtureFrames(root);
  return {
    name: 'fpm-decode',
    fileExt: 'bin',
    generate: (rng) => {
      // what one FPM frame can carry (its length is 16 bits): whole messages up to 65531 bytes
      const msgs = generateMessages(rng, fixtures, BOMB_RATE);
      let size = 0;
      let n = 0;
      while (n < msgs.length && size + msgs[n]!.length <= 0xffff - 4) size += msgs[n++]!.length;
      let payload: Buffer = Buffer.concat(msgs.slice(0, Math.max(n, 1))).subarray(0, 0xffff - 4);
      if (rng.chance(0.7)) payload = mutate(rng, payload, layoutMessages(payload), rng.range(1, 8));
      return { payload };
    },
    run: ({ payload }) => {
      let items: FpmItem[];
      try {
        items = decodeFpmFrame(payload);
      } catch (err) {
        if (err instanceof Rfc5549Error) return;
        throw err;
      }
      for (const it of items) {
        if (!ITEM_KINDS.has(it.kind)) throw new PropertyViolation('fpm-decode-item', `unknown item kind ${String(it.kind)}`);
        if (it.kind === 'route-add' && !Array.isArray(it.legs)) throw new PropertyViolation('fpm-decode-item', 'route-add without legs');
      }
    },
    serialize: (input) => input.payload,
    deserialize: (bytes) => ({ payload: bytes }),
  };
}

/** The whole per-connection path: frames, decode, session, RIB; every route the RIB takes is checked. */
export function fpmSessionTarget(root: string): FuzzTarget<FpmStreamInput> {
  return streamTarget('fpm-session', root, (chunks) => {
    // both mappings of zebra's main table, chosen by the input so a rerun takes the same one
    const mainTable = chunks.reduce((s, c) => s + c.length, 0) % 2 === 0 ? 254 : 5549;
    const sink = checkingRib('fpm');
    const session = new FpmSession('fpm#1', { protocols: new Set([186]), mainTable, ifname: (i) => FPM_IFNAMES[i] }, sink);
    const reader = new FpmFrameReader();
    for (const c of chunks) {
      let frames: Buffer[];
      try {
        frames = reader.push(c);
      } catch (err) {
        if (err instanceof FpmFrameError || err instanceof Rfc5549Error) return; // the server closes the connection
        throw err;
      }
      for (const f of frames) {
        for (const item of decodeFpmFrame(f)) {
          try {
            session.handle(item);
          } catch (err) {
            if (err instanceof Rfc5549Error) return; // a typed refusal (a cap) may end the connection
            throw err;
          }
        }
      }
    }
  });
}
