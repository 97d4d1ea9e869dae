// Options of `rfc5549d exabgp` to BridgeOptions: kept apart from main.ts so the subcommand is
// one registration there.
import { loadConfig } from '../config/load.js';
import { Rfc5549Error } from '../errors.js';
import { parseNeighbourArgs } from '../exabgp/neighbour-map.js';
import { excerpt } from '../exabgp/message.js';
import { runExabgpBridge, type BridgeOptions } from './exabgp-bridge.js';

export interface ExabgpCommandOptions {
  socket?: string;
  config?: string;
  neighbor?: string[];
  table?: string;
}

// An ExaBGP UPDATE is at most 4096 bytes (65535 with extended messages); its JSON, with every
// NLRI listed twice for a 32-byte next hop, stays well under this.
const MAX_LINE_BYTES = 4 << 20;

/** The command's options, checked; an error names the option and the value. */
export function bridgeOptionsFrom(o: ExabgpCommandOptions): BridgeOptions {
  const neighbours = parseNeighbourArgs(o.neighbor ?? []);
  if (!neighbours.ok) throw new Rfc5549Error('INPUT_INVALID', neighbours.error);
  let table: number | undefined;
  if (o.table !== undefined) {
    table = Number(o.table);
    if (!/^\d{1,10}$/.test(o.table) || table === 0 || table === 255 || table > 0xffffffff) {
      throw new Rfc5549Error('INPUT_INVALID', `--table: expected a table number (not 0 or 255), got ${excerpt(o.table)}`);
    }
  }
  const socket = o.socket ?? loadConfig(o.config).sources.jsonl.socket;
  if (socket === '-') throw new Rfc5549Error('INPUT_INVALID', 'sources.jsonl.socket is "-" (stdin): the bridge needs the daemon\'s socket; give --socket');
  return {
    socket,
    neighbours: neighbours.value,
    maxLineBytes: MAX_LINE_BYTES,
    maxRoutes: 1_000_000,
    maxNeighbours: 4096,
    ...(table === undefined ? {} : { table }),
  };
}

export async function runExabgpCommand(o: ExabgpCommandOptions): Promise<void> {
  process.exit(await runExabgpBridge(bridgeOptionsFrom(o)));
}
