// Routes a source placed by VRF name ("vrf": "blue") rather than by table. The name is
// resolved through the kernel's VRF device (IFLA_VRF_TABLE); when a device of that name
// comes back with another table, its routes move there.
import type { Ipv4Prefix } from '../model/ipv4-prefix.js';
import type { Rib } from './rib.js';
import type { DesiredRoute } from './route.js';

interface PlacedRoute {
  readonly session: string;
  readonly route: DesiredRoute;
}

export interface VrfMove {
  readonly from: number;
  readonly to: number;
  /** routes withdrawn from `from` and added again in `to` */
  readonly moved: number;
}

export class VrfRoutes {
  private readonly byVrf = new Map<string, { table: number; routes: Map<string, PlacedRoute> }>();

  added(vrf: string, session: string, route: DesiredRoute): void {
    let v = this.byVrf.get(vrf);
    if (!v || v.table !== route.table) {
      v = { table: route.table, routes: new Map() };
      this.byVrf.set(vrf, v);
    }
    v.routes.set(route.prefix.key, { session, route });
  }

  withdrawn(vrf: string, prefix: Ipv4Prefix): void {
    const v = this.byVrf.get(vrf);
    v?.routes.delete(prefix.key);
    if (v && v.routes.size === 0) this.byVrf.delete(vrf);
  }

  /**
   * The VRF device `vrf` now has `table` (a new device, or one re-created). Its routes in the
   * RIB move there, under the session that added them; routes their session has since
   * dropped (a disconnect, a replay's end) are forgotten. A VRF that is gone keeps its
   * routes where they are until a device of that name comes back.
   */
  follow(vrf: string, table: number, rib: Rib): VrfMove | undefined {
    const v = this.byVrf.get(vrf);
    if (!v || v.table === table) return undefined;
    const from = v.table;
    const kept = new Map<string, PlacedRoute>();
    for (const [k, { session, route }] of v.routes) {
      if (!rib.get(from, route.prefix)) continue;
      rib.withdraw(from, route.prefix);
      const moved = { ...route, table };
      rib.add(session, moved);
      kept.set(k, { session, route: moved });
    }
    v.table = table;
    v.routes = kept;
    return { from, to: table, moved: kept.size };
  }
}
