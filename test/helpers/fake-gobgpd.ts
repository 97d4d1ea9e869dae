// A stand-in for gobgpd's gRPC API on loopback, speaking the messages of gobgp-api.ts: a RIB
// of paths, peers, and watchers that get the END_OF_INIT peer event and then the changes.
import * as grpc from '@grpc/grpc-js';
import {
  encodeListPathResponse, encodeListPeerResponse, encodePeerEvent, encodeTableEvent, type PathSpec, type PeerSpec,
} from '../../src/sources/gobgp/gobgp-api.js';

const raw = (b: Buffer): Buffer => b;
const method = (name: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/apipb.GobgpApi/${name}`, requestStream: false, responseStream: true,
  requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw,
});

export class FakeGobgpd {
  readonly paths = new Map<string, PathSpec>();
  readonly peers: PeerSpec[] = [];
  private server: grpc.Server | undefined;
  private readonly watchers = new Set<grpc.ServerWritableStream<Buffer, Buffer>>();
  port = 0;
  /** raw messages to hand out in ListPath instead of encoding `paths` (malformed-input tests) */
  extraListMessages: Buffer[] = [];
  /** accept WatchEvent but never confirm it (no INIT/END_OF_INIT) */
  silentWatch = false;

  async start(port = 0): Promise<void> {
    const server = new grpc.Server();
    server.addService({ ListPath: method('ListPath'), ListPeer: method('ListPeer'), WatchEvent: method('WatchEvent') }, {
      ListPath: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        for (const m of this.extraListMessages) call.write(m);
        for (const [prefix, p] of this.paths) call.write(encodeListPathResponse(prefix, [p]));
        call.end();
      },
      ListPeer: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        for (const p of this.peers) call.write(encodeListPeerResponse(p));
        call.end();
      },
      WatchEvent: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        if (this.silentWatch) {
          this.watchers.add(call);
          return;
        }
        for (const p of this.peers) call.write(encodePeerEvent('init', p));
        call.write(encodePeerEvent('end-of-init', {}));
        this.watchers.add(call);
        call.on('cancelled', () => this.watchers.delete(call));
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    this.server = server;
  }

  get watching(): number {
    return this.watchers.size;
  }

  announce(prefix: string, p: PathSpec): void {
    this.paths.set(prefix, { ...p, prefix });
    this.send(encodeTableEvent([{ ...p, prefix }]));
  }

  withdraw(prefix: string): void {
    const p = this.paths.get(prefix);
    if (!p) return;
    this.paths.delete(prefix);
    this.send(encodeTableEvent([{ ...p, withdraw: true }]));
  }

  peerState(p: PeerSpec): void {
    this.send(encodePeerEvent('state', p));
  }

  send(bytes: Buffer): void {
    for (const w of this.watchers) w.write(bytes);
  }

  /** like kill -9: every stream breaks */
  kill(): void {
    this.watchers.clear();
    this.server?.forceShutdown();
    this.server = undefined;
  }
}
