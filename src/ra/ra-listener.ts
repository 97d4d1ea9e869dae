// Listens for router advertisements on a raw ICMPv6 socket (native/icmp6) and reports
// valid ones; the rest are counted by reason and never reach the daemon.
import { createRequire } from 'node:module';
import { Rfc5549Error } from '../errors.js';
import { linkLocalFromBytes, type LinkLocal } from '../model/link-local.js';
import type { Mac } from '../model/mac.js';
import { ALL_ROUTERS, ND_ROUTER_ADVERT, parseRouterAdvert, routerSolicitation, type RaRejection } from './router-advert.js';

interface NativeIcmp6Socket {
  send(data: Buffer, dst: Buffer, ifindex: number): void;
  close(): void;
}
type NativeCtor = new (
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
}

export class RaListener {
  private sock: NativeIcmp6Socket | undefined;
  readonly counters: RaCounters = { received: 0, accepted: 0, ignored: {}, solicitationsSent: 0 };

  constructor(
    private readonly onAdvert: (ev: RouterAdvertEvent) => void,
    private readonly onError: (err: Error) => void,
  ) {}

  start(): void {
    const Native = loadNative();
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
          this.onError(err instanceof Error ? err : new Error(String(err)));
        }
      },
      (err) => this.onError(err),
    );
  }

  /** Asks the routers on a link to advertise now (best effort). */
  solicit(ifindex: number, ourMac: Uint8Array): void {
    if (!this.sock) return;
    try {
      this.sock.send(routerSolicitation(ourMac), ALL_ROUTERS, ifindex);
      this.counters.solicitationsSent++;
    } catch (err) {
      this.onError(err instanceof Error ? err : new Error(String(err)));
    }
  }

  stop(): void {
    this.sock?.close();
    this.sock = undefined;
  }
}
