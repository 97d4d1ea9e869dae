// The route writes of a pass, as netlink messages: the one place that encodes them.
import type { Forwardings } from '../kernel/forwardings.js';
import type { KernelPort, OpFailure } from '../kernel/kernel.js';
import { writeStoredRoute } from '../kernel/rtnetlink-codec.js';
import type { RouteStore } from '../rib/route-store.js';
import { OP_CREATE, OP_DELETE, type RouteOps } from './plan.js';

export interface RouteWriteContext {
  readonly kernel: KernelPort;
  readonly store: RouteStore;
  readonly forwardings: Forwardings;
  readonly protocol: number;
  readonly metric: number;
}

/** writes the planned route ops; the failures by op index */
export function writeRoutes(c: RouteWriteContext, ops: RouteOps): Promise<Map<number, OpFailure>> {
  const { store: st, forwardings, protocol, metric } = c;
  return c.kernel.applyEncoded(ops.length, (w, seq, i, ack) => {
    const s = ops.slot[i]!;
    const kind = ops.kind[i]!;
    if (kind === OP_DELETE) {
      writeStoredRoute(w, seq, 'delete', st.table[s]!, st.addr[s]!, st.len[s]!, protocol, ops.arg[i]!, undefined, ack);
    } else {
      writeStoredRoute(w, seq, kind === OP_CREATE ? 'create' : 'replace', st.table[s]!, st.addr[s]!, st.len[s]!, protocol, metric, forwardings.get(ops.arg[i]!), ack);
    }
  });
}
