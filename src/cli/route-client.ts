// `rfc5549d add` and `rfc5549d withdraw`: one JSON-lines route line to the daemon's routes
// socket, then `{"op":"ack"}`, and the answer: the error reply for the route line (field and
// value, as the daemon words it) or the ack. The connection then closes; with the default
// sources.jsonl.withdraw-on-disconnect false the route stays.
import { createConnection } from 'node:net';
import { Rfc5549Error } from '../errors.js';

/** The command line is wrong (exit 2): said before anything is sent. */
export class UsageError extends Error {}

/** The daemon answered with an error (exit 1). */
export class DaemonRefusal extends Error {
  constructor(readonly error: string, readonly code: string) {
    super(`the daemon refused it: ${error} (${code})`);
  }
}

export interface TableChoice {
  readonly table?: string;
  readonly vrf?: string;
}

const MAX_ARG = 200;
const shown = (v: string): string => JSON.stringify(v.length > MAX_ARG ? `${v.slice(0, MAX_ARG)}…` : v);

function tableFields(o: TableChoice): Record<string, string | number> {
  if (o.table !== undefined && o.vrf !== undefined) throw new UsageError('give --table or --vrf, not both');
  if (o.table !== undefined) return { table: /^\d+$/.test(o.table) ? Number(o.table) : o.table };
  if (o.vrf !== undefined) return { vrf: o.vrf };
  return {};
}

/**
 * `via fe80::1%eth1 [via fe80::2%eth2 …]` to JSON-lines next hops. Only the shape is checked
 * here; the daemon validates the values and names the field when it refuses one.
 */
export function parseVias(words: readonly string[]): { via: string; dev: string }[] {
  if (words.length === 0) throw new UsageError('no next hop: give "via <link-local>%<interface>", e.g. via fe80::a00:27ff:fe25:4c23%eth1');
  const out: { via: string; dev: string }[] = [];
  for (let i = 0; i < words.length; i += 2) {
    if (words[i] !== 'via') throw new UsageError(`expected "via" before each next hop, got ${shown(words[i]!)}`);
    const nh = words[i + 1];
    if (nh === undefined) throw new UsageError('"via" at the end: give <link-local>%<interface> after it');
    const at = nh.lastIndexOf('%');
    if (at <= 0 || at === nh.length - 1) throw new UsageError(`next hop ${shown(nh)}: expected <link-local>%<interface>, e.g. fe80::a00:27ff:fe25:4c23%eth1`);
    out.push({ via: nh.slice(0, at), dev: nh.slice(at + 1) });
  }
  return out;
}

export function addLine(prefix: string, words: readonly string[], o: TableChoice): Record<string, unknown> {
  return { op: 'add', prefix, nexthops: parseVias(words), ...tableFields(o) };
}

export function withdrawLine(prefix: string, o: TableChoice): Record<string, unknown> {
  return { op: 'withdraw', prefix, ...tableFields(o) };
}

/**
 * Sends one line and waits for the ack. Resolves when the daemon took it; rejects with
 * DaemonRefusal when it answered an error, or SOURCE_IO when it cannot be reached or does
 * not answer in time.
 */
export function sendRouteLine(socket: string, line: Record<string, unknown>, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = createConnection(socket);
    let buf = '';
    let refusal: DaemonRefusal | undefined;
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      c.end();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => {
      c.destroy();
      finish(new Rfc5549Error('SOURCE_IO', `${socket}: no answer within ${timeoutMs} ms (a daemon older than the "ack" op never answers)`));
    }, timeoutMs);
    c.on('connect', () => c.write(`${JSON.stringify(line)}\n{"op":"ack"}\n`));
    c.on('data', (d) => {
      buf += d.toString('utf8');
      if (buf.length > 1 << 20) return finish(new Rfc5549Error('SOURCE_IO', `${socket}: answer too long`));
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let reply: { error?: unknown; code?: unknown; ack?: unknown };
        try {
          reply = JSON.parse(text) as typeof reply;
        } catch {
          return finish(new Rfc5549Error('SOURCE_IO', `${socket}: unreadable answer ${shown(text)}`));
        }
        if (typeof reply.error === 'string') refusal ??= new DaemonRefusal(reply.error, typeof reply.code === 'string' ? reply.code : 'INPUT_INVALID');
        else if (reply.ack !== undefined) return finish(refusal);
      }
    });
    c.on('close', () => finish(refusal ?? new Rfc5549Error('SOURCE_IO', `${socket}: the daemon closed the connection without an answer`)));
    c.on('error', (err) => finish(new Rfc5549Error('SOURCE_IO', `cannot reach the daemon at ${socket}: ${err.message} (is rfc5549d running with sources.jsonl on? --socket or --config)`, { cause: err })));
  });
}
