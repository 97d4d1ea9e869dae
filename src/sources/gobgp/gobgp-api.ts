// The few messages of gobgpd's gRPC API (GoBGP 3.x, proto package `apipb`, service
// `apipb.GobgpApi`) that the GoBGP source uses, with GoBGP's field numbers as of v3.10
// (api/gobgp.proto, api/attribute.proto). Written here from those facts, only the fields we
// read; protobuf skips the others. Decoding turns wire bytes into the plain, typed shapes of
// gobgp-path.ts, so nothing past this module sees protobuf objects. Pure: no I/O.
import protobuf from 'protobufjs';
import type { GobgpPath, GobgpPeer, GobgpPeerEventType } from './gobgp-path.js';

export const GOBGP_SERVICE = '/apipb.GobgpApi';

const PROTO = `
syntax = "proto3";
package apipb;

message Any { string type_url = 1; bytes value = 2; }
message Family { uint32 afi = 1; uint32 safi = 2; }

message ListPathRequest {
  uint32 table_type = 1;       // TableType: GLOBAL = 0
  string name = 2;
  Family family = 3;
}
message ListPathResponse { Destination destination = 1; }
message Destination { string prefix = 1; repeated Path paths = 2; }

message Path {
  Any nlri = 1;
  repeated Any pattrs = 2;
  bool best = 4;
  bool is_withdraw = 5;
  Family family = 9;
  string source_id = 11;
  string neighbor_ip = 15;
}

message IPAddressPrefix { uint32 prefix_len = 1; string prefix = 2; }
message NextHopAttribute { string next_hop = 1; }
message MpReachNLRIAttribute { Family family = 1; repeated string next_hops = 2; repeated Any nlris = 3; }

message ListPeerRequest { string address = 1; bool enableAdvertised = 2; }
message ListPeerResponse { Peer peer = 1; }
message Peer { PeerConf conf = 2; PeerState state = 5; }
message PeerConf { string neighbor_address = 4; string neighbor_interface = 11; }
message PeerState { string neighbor_address = 5; uint32 session_state = 13; }

message WatchEventRequest {
  message Peer {}
  message Table {
    message Filter { uint32 type = 1; bool init = 2; }   // Type: BEST = 0
    repeated Filter filters = 1;
  }
  Peer peer = 1;
  Table table = 2;
}
message WatchEventResponse {
  message PeerEvent { uint32 type = 1; Peer peer = 2; }  // UNKNOWN, INIT, END_OF_INIT, STATE
  message TableEvent { repeated Path paths = 2; }
  PeerEvent peer = 2;
  TableEvent table = 3;
}
`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
const type = (name: string): protobuf.Type => root.lookupType(`apipb.${name}`);
const T = {
  ListPathRequest: type('ListPathRequest'),
  ListPathResponse: type('ListPathResponse'),
  ListPeerRequest: type('ListPeerRequest'),
  ListPeerResponse: type('ListPeerResponse'),
  WatchEventRequest: type('WatchEventRequest'),
  WatchEventResponse: type('WatchEventResponse'),
  IPAddressPrefix: type('IPAddressPrefix'),
  NextHopAttribute: type('NextHopAttribute'),
  MpReachNLRIAttribute: type('MpReachNLRIAttribute'),
  Path: type('Path'),
  Peer: type('Peer'),
};

const AFI_IP = 1;
const SAFI_UNICAST = 1;
/** PeerState.SessionState */
const SESSION_ESTABLISHED = 6;
const TYPE_URL_PREFIX = 'type.googleapis.com/apipb.';

// --- the shapes protobufjs hands back (keepCase; unset fields are absent) ---
interface PbAny { type_url?: string; value?: Uint8Array }
interface PbFamily { afi?: number; safi?: number }
interface PbPath { nlri?: PbAny; pattrs?: PbAny[]; best?: boolean; is_withdraw?: boolean; family?: PbFamily; neighbor_ip?: string }
interface PbPeer { conf?: { neighbor_address?: string; neighbor_interface?: string }; state?: { neighbor_address?: string; session_state?: number } }

/** A message that does not decode; names what and why, with a bounded excerpt. */
export class GobgpDecodeError extends Error {}

function decode<T>(t: protobuf.Type, bytes: Uint8Array, what: string): T {
  try {
    return t.toObject(t.decode(bytes), { longs: Number, enums: Number, bytes: Buffer }) as T;
  } catch (err) {
    throw new GobgpDecodeError(`${what}: ${(err as Error).message} (${bytes.length} bytes, first ${Buffer.from(bytes.subarray(0, 32)).toString('hex')})`);
  }
}

const anyName = (a: PbAny | undefined): string | undefined =>
  a?.type_url?.startsWith(TYPE_URL_PREFIX) ? a.type_url.slice(TYPE_URL_PREFIX.length) : undefined;

/** A Path message to the source's shape: prefix from IPAddressPrefix, next hops from the attributes. */
function pathFrom(p: PbPath): GobgpPath {
  let prefix: string | undefined;
  if (anyName(p.nlri) === 'IPAddressPrefix') {
    const n = decode<{ prefix_len?: number; prefix?: string }>(T.IPAddressPrefix, p.nlri!.value ?? new Uint8Array(), 'Path.nlri IPAddressPrefix');
    prefix = `${n.prefix ?? ''}/${n.prefix_len ?? 0}`;
  }
  let nextHops: string[] = [];
  for (const a of p.pattrs ?? []) {
    const name = anyName(a);
    // MP_REACH (RFC 2545: [global] or [global, link-local]) wins over NEXT_HOP when both are there
    if (name === 'MpReachNLRIAttribute') {
      nextHops = decode<{ next_hops?: string[] }>(T.MpReachNLRIAttribute, a.value ?? new Uint8Array(), 'MpReachNLRIAttribute').next_hops ?? [];
    } else if (name === 'NextHopAttribute' && nextHops.length === 0) {
      const nh = decode<{ next_hop?: string }>(T.NextHopAttribute, a.value ?? new Uint8Array(), 'NextHopAttribute').next_hop;
      if (nh) nextHops = [nh];
    }
  }
  return {
    afi: p.family?.afi ?? 0,
    safi: p.family?.safi ?? 0,
    prefix,
    nlriType: anyName(p.nlri) ?? '(none)',
    nextHops,
    neighborIp: p.neighbor_ip ?? '',
    best: p.best === true,
    withdraw: p.is_withdraw === true,
  };
}

function peerFrom(p: PbPeer): GobgpPeer {
  return {
    address: p.state?.neighbor_address || p.conf?.neighbor_address || '',
    interface: p.conf?.neighbor_interface || undefined,
    established: p.state?.session_state === SESSION_ESTABLISHED,
  };
}

export interface GobgpDestination {
  readonly prefix: string;
  readonly paths: GobgpPath[];
}

export function decodeListPathResponse(bytes: Uint8Array): GobgpDestination {
  const r = decode<{ destination?: { prefix?: string; paths?: PbPath[] } }>(T.ListPathResponse, bytes, 'ListPathResponse');
  return { prefix: r.destination?.prefix ?? '', paths: (r.destination?.paths ?? []).map(pathFrom) };
}

export function decodeListPeerResponse(bytes: Uint8Array): GobgpPeer {
  return peerFrom(decode<{ peer?: PbPeer }>(T.ListPeerResponse, bytes, 'ListPeerResponse').peer ?? {});
}

const PEER_EVENT_TYPES: readonly GobgpPeerEventType[] = ['unknown', 'init', 'end-of-init', 'state'];

export type GobgpEvent =
  | { readonly kind: 'peer'; readonly type: GobgpPeerEventType; readonly peer: GobgpPeer }
  | { readonly kind: 'table'; readonly paths: GobgpPath[] }
  | { readonly kind: 'other' };

export function decodeWatchEventResponse(bytes: Uint8Array): GobgpEvent {
  const r = decode<{ peer?: { type?: number; peer?: PbPeer }; table?: { paths?: PbPath[] } }>(T.WatchEventResponse, bytes, 'WatchEventResponse');
  if (r.peer) return { kind: 'peer', type: PEER_EVENT_TYPES[r.peer.type ?? 0] ?? 'unknown', peer: peerFrom(r.peer.peer ?? {}) };
  if (r.table) return { kind: 'table', paths: (r.table.paths ?? []).map(pathFrom) };
  return { kind: 'other' };
}

/** ListPath of the global RIB, IPv4 unicast. */
export function encodeListPathRequest(): Buffer {
  return Buffer.from(T.ListPathRequest.encode({ table_type: 0, family: { afi: AFI_IP, safi: SAFI_UNICAST } }).finish());
}

export function encodeListPeerRequest(): Buffer {
  return Buffer.from(T.ListPeerRequest.encode({}).finish());
}

/**
 * Peer state changes and best-path changes, without the initial table dump (the source lists
 * the RIB itself). The peer part also makes gobgpd send one INIT per peer and an END_OF_INIT
 * when the watcher is registered, which says when listing can no longer miss a change.
 */
export function encodeWatchEventRequest(): Buffer {
  return Buffer.from(T.WatchEventRequest.encode({ peer: {}, table: { filters: [{ type: 0, init: false }] } }).finish());
}

// --- encoders of server messages, for tests and the fake gobgpd of the unit tests ---

export interface PathSpec {
  readonly prefix?: string;
  readonly nextHops?: readonly string[];
  readonly nextHopAttribute?: string;
  readonly neighborIp?: string;
  readonly best?: boolean;
  readonly withdraw?: boolean;
  readonly afi?: number;
  readonly safi?: number;
}

const anyOf = (name: string, t: protobuf.Type, value: Record<string, unknown>): PbAny =>
  ({ type_url: TYPE_URL_PREFIX + name, value: t.encode(value).finish() });

function pathMessage(s: PathSpec): Record<string, unknown> {
  const [addr, len] = (s.prefix ?? '').split('/');
  const pattrs: PbAny[] = [];
  if (s.nextHopAttribute !== undefined) pattrs.push(anyOf('NextHopAttribute', T.NextHopAttribute, { next_hop: s.nextHopAttribute }));
  if (s.nextHops) pattrs.push(anyOf('MpReachNLRIAttribute', T.MpReachNLRIAttribute, { family: { afi: s.afi ?? AFI_IP, safi: s.safi ?? SAFI_UNICAST }, next_hops: [...s.nextHops] }));
  return {
    nlri: s.prefix === undefined ? undefined : anyOf('IPAddressPrefix', T.IPAddressPrefix, { prefix: addr, prefix_len: Number(len) }),
    pattrs,
    best: s.best ?? true,
    is_withdraw: s.withdraw ?? false,
    family: { afi: s.afi ?? AFI_IP, safi: s.safi ?? SAFI_UNICAST },
    neighbor_ip: s.neighborIp ?? '',
  };
}

export function encodeListPathResponse(prefix: string, paths: readonly PathSpec[]): Buffer {
  return Buffer.from(T.ListPathResponse.encode({ destination: { prefix, paths: paths.map(pathMessage) } }).finish());
}

export interface PeerSpec {
  readonly confAddress?: string;
  readonly stateAddress?: string;
  readonly interface?: string;
  readonly sessionState?: number;
}

const peerMessage = (p: PeerSpec): Record<string, unknown> => ({
  conf: { neighbor_address: p.confAddress ?? '', neighbor_interface: p.interface ?? '' },
  state: { neighbor_address: p.stateAddress ?? '', session_state: p.sessionState ?? SESSION_ESTABLISHED },
});

export function encodeListPeerResponse(p: PeerSpec): Buffer {
  return Buffer.from(T.ListPeerResponse.encode({ peer: peerMessage(p) }).finish());
}

export function encodeTableEvent(paths: readonly PathSpec[]): Buffer {
  return Buffer.from(T.WatchEventResponse.encode({ table: { paths: paths.map(pathMessage) } }).finish());
}

export function encodePeerEvent(type: GobgpPeerEventType, p: PeerSpec): Buffer {
  return Buffer.from(T.WatchEventResponse.encode({ peer: { type: PEER_EVENT_TYPES.indexOf(type), peer: peerMessage(p) } }).finish());
}
