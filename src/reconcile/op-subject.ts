// What a kernel op is about, for log lines, repair keys and the printed plan.
import type { KernelOp } from '../kernel/kernel-ops.js';
import { numberToIpv4 } from '../model/ipv4-prefix.js';

export function opSubject(op: KernelOp): Record<string, unknown> {
  switch (op.kind) {
    case 'neigh.replace': case 'neigh.delete': case 'neigh.probe': return { ifname: op.ifname };
    case 'nh.delete': return { id: op.id };
    case 'nh.replace': return { id: op.nexthop.id };
    case 'rule.create': case 'rule.delete': return { priority: op.rule.priority, table: op.rule.table };
    case 'throw.create': case 'throw.delete': return { key: `${op.route.table}:${numberToIpv4(op.route.dst)}/${op.route.dstLen}`, metric: op.route.metric };
  }
}

/** one line naming what the op writes: `h0 169.254.0.1`, `nexthop 7`, `rule 5549`, `throw 5549:10.0.0.0/8` */
export function opKey(op: KernelOp): string {
  switch (op.kind) {
    case 'neigh.replace': case 'neigh.delete': return `${op.ifname} ${numberToIpv4(op.gateway)}`;
    case 'neigh.probe': return `${op.ifname} ${op.linkLocal}`;
    case 'nh.delete': return `nexthop ${op.id}`;
    case 'nh.replace': return `nexthop ${op.nexthop.id}`;
    case 'rule.create': case 'rule.delete': return `rule ${op.rule.priority}`;
    case 'throw.create': case 'throw.delete': return `throw ${String(opSubject(op).key)}`;
  }
}
