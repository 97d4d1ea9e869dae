// Listens for router advertisements on a raw ICMPv6 socket (native/icmp6) and reports
// valid ones; the rest are counted by reason and never reach the daemon.
import { constants } from 'node:os';
import { createRequire } from 'node:module';
import { Rfc5549Error } from '../errors.js';
import { systemClock, type Clock, type Timer } from '../runtime/clock.js';
import { linkLocalFromBytes, type LinkLocal } from '../model/link-local.js';
import type { Mac } from '../model/mac.js';
import { ALL_ROUTERS, ND_ROUTER_ADVERT, parseRouterAdvert, routerSolicitation, type RaRejection } from './router-advert.js';

interface NativeIcmp6Socket {
  send(data: Buffer, dst: Buffer, ifindex: number): void;
  close(): void;
}
export type NativeCtor = new (
  types: number[],
  onMessage: (data: Buffer, src: Buffer, ifindex: number, hopLimit: number) => void,
  onError: (err: Error) => void,
) => NativeIcmp6Socket;

function loadNative(): NativeCtor {
  const require = createRequire(import.meta.url);
  try {
    return (require('../../../native/icmp6/build/Release/icmp6_socket.node') as { Icmp6Socket: NativeCtor }).Icmp6Socket;
  } catch (err) {
    throw new Rfc5549Error('UNSUPPORTED', 'the ICMPv6 socket addon is not built (run npm ci: scripts/build-native.mjs)', { cause: err });
  }
}

export interface RouterAdvertEvent {
  readonly ifindex: number;
  readonly source: LinkLocal;
  readonly sourceMac: Mac | undefined;
  readonly routerLifetimeS: number;
}

export interface RaCounters {
  received: number;
  accepted: number;
  ignored: Partial<Record<RaRejection, number>>;
  solicitationsSent: number;
  /** sends retried because the link-local was still tentative right after link up */
  solicitationsRetried: number;
}

/**
 * errnos of a send from a link-local that is still tentative (duplicate address detection
 * runs for about a second after link up): "Cannot assign requested address" and "Network is
 * unreachable". Retried, not reported.
 */
const TENTATIVE_ERRNOS = new Set([constants.errno.EADDRNOTAVAIL, constants.errno.ENETUNREACH]);

export interface RaListenerOptions {
  /** the socket implementation (tests); the native addon otherwise */
  readonly native?: NativeCtor;
  /** solicitation retries while the link-local is tentative, and the delay between them */
  readonly solicitRetries?: number;
  readonly solicitRetryMs?: number;
  /** the retry timers' clock; the system clock otherwise */
  readonly clock?: Clock;
}

/** An error of the listener, with the interface it concerns when there is one. */
export type RaErrorHandler = (err: Error, ifindex?: number) => void;

export class RaListener {
  private sock: NativeIcmp6Socket | undefined;
  private readonly retries = new Set<Timer>();
  private readonly counters: RaCounters = { received: 0, accepted: 0, ignored: {}, solicitationsSent: 0, solicitationsRetried: 0 };

  constructor(
    private readonly onAdvert: (ev: RouterAdvertEvent) => void,
    private readonly onError: RaErrorHandler,
    private readonly options: RaListenerOptions = {},
  ) {}

  /** a copy of the counters */
  stats(): RaCounters {
    return { ...this.counters, ignored: { ...this.counters.ignored } };
  }

  start(): void {
    const Native = this.options.native ?? loadNative();
    this.sock = new Native(
      [ND_ROUTER_ADVERT],
      (data, src, ifindex, hopLimit) => {
        this.counters.received++;
        try {
          const v = parseRouterAdvert(data, src, hopLimit);
          if (!v.ok) {
            this.counters.ignored[v.reason] = (this.counters.ignored[v.reason] ?? 0) + 1;
            return;
          }
          this.counters.accepted++;
          this.onAdvert({ ifindex, source: linkLocalFromBytes(src), sourceMac: v.sourceMac, routerLifetimeS: v.routerLifetimeS });
        } catch (err) {
          // never let one packet take the listener down
          this.onError(err instanceof Error ? err : new Error(String(err)), ifindex);
        }
      },
      (err) => this.onError(err),
    );
  }

  /**
   * Asks the routers on a link to advertise now (best effort). Right after link up our
   * link-local is not yet usable (tentative while DAD runs, about 1-2 s) and the send fails:
   * it is retried every 500 ms up to 8 times, and only
   * reported (with the interface) if it still fails after that.
   */
  solicit(ifindex: number, ourMac: Uint8Array, attempt = 0): void {
    if (!this.sock) return;
    try {
      this.sock.send(routerSolicitation(ourMac), ALL_ROUTERS, ifindex);
      this.counters.solicitationsSent++;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      const errno = (e as Error & { errno?: unknown }).errno;
      if (typeof errno === 'number' && TENTATIVE_ERRNOS.has(errno) && attempt < (this.options.solicitRetries ?? 8)) {
        this.counters.solicitationsRetried++;
        const t = (this.options.clock ?? systemClock).setTimeout(() => {
          this.retries.delete(t);
          this.solicit(ifindex, ourMac, attempt + 1);
        }, this.options.solicitRetryMs ?? 500);
        this.retries.add(t);
        return;
      }
      this.onError(e, ifindex);
    }
  }

  stop(): void {
    for (const t of this.retries) t.cancel();
    this.retries.clear();
    this.sock?.close();
    this.sock = undefined;
  }
}
