// The route writes of a pass: the planned columns handed to the kernel port, which encodes
// them (all netlink bytes live in src/kernel/).
import type { Forwardings } from '../kernel/forwardings.js';
import type { KernelPort, OpFailure } from '../kernel/kernel.js';
import type { RouteStore } from '../rib/route-store.js';
import type { RouteOps } from './plan.js';

export interface RouteWriteContext {
  readonly kernel: KernelPort;
  readonly store: RouteStore;
  readonly forwardings: Forwardings;
  readonly protocol: number;
  readonly metric: number;
}

/** writes the planned route ops; the failures by op index */
export function writeRoutes(c: RouteWriteContext, ops: RouteOps): Promise<Map<number, OpFailure>> {
  return c.kernel.applyRoutes(ops, c.store, c.forwardings, c.protocol, c.metric);
}
