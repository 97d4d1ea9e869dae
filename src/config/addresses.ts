// Addresses in the configuration: the placeholder gateway pool and host:port listeners.
import { maskOf, parseIpv4Prefix, type ParseResult } from '../model/ipv4-prefix.js';
import type { ConfigProblem } from './problems.js';

export interface GatewayRange {
  readonly first: number;
  readonly size: number;
  /** as configured, for messages */
  readonly text: string;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

const LINK_LOCAL_V4 = 0xa9fe0000; // 169.254.0.0/16

/**
 * A pool prefix to its host addresses. It must lie in 169.254.0.0/16: a placeholder is a
 * neighbour entry with a fake address, and anywhere else it could shadow a real host.
 */
export function gatewayRange(text: string): ParseResult<GatewayRange> {
  const p = parseIpv4Prefix(text);
  if (!p.ok) return p;
  const { addr, len } = p.value;
  if (len < 16 || (addr & maskOf(16)) >>> 0 !== LINK_LOCAL_V4) return { ok: false, error: 'must lie inside 169.254.0.0/16 (IPv4 link-local), so that a placeholder never shadows a real address' };
  if (len > 30) return { ok: false, error: 'must be /30 or shorter (a pool needs at least two host addresses)' };
  return { ok: true, value: { first: addr + 1, size: 2 ** (32 - len) - 2, text } };
}

/** `text` has passed the schema's host:port pattern; the port range is checked here. */
export function hostPort(text: string, path: string, problems: ConfigProblem[]): HostPort {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(text)!;
  const port = Number(m[2]);
  if (port < 1 || port > 65_535) problems.push({ path, value: text, message: 'port must be 1 to 65535' });
  return { host: m[1]!, port };
}
