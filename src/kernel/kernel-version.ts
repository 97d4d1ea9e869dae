// What the running kernel can do, from its release string. Pure.
import { Rfc5549Error } from '../errors.js';

/** "6.1.0-18-amd64" -> [6, 1]; undefined when the text carries no version. */
function parseKernelRelease(release: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function atLeast(release: string, major: number, minor: number): boolean {
  const v = parseKernelRelease(release);
  return v !== undefined && (v[0] > major || (v[0] === major && v[1] >= minor));
}

/**
 * kernel.mode "via" needs IPv4 routes with IPv6 next hops (RTA_VIA), added in Linux 5.2;
 * kernel.nexthop-objects needs nexthop objects (RTM_NEWNEXTHOP, RTA_NH_ID), added in 5.3.
 */
export function checkKernelMode(mode: string, release: string, nexthopObjects = false): void {
  if (nexthopObjects && !atLeast(release, 5, 3)) {
    throw new Rfc5549Error('UNSUPPORTED', `kernel.nexthop-objects: true needs Linux 5.3 or later (nexthop objects, RTA_NH_ID); this kernel is ${release}. Set it to false`);
  }
  if (mode === 'via' && !atLeast(release, 5, 2)) {
    throw new Rfc5549Error('UNSUPPORTED', `kernel.mode: "via" needs Linux 5.2 or later (IPv4 routes via an IPv6 next hop, RTA_VIA); this kernel is ${release}. Use kernel.mode: neighbor`);
  }
}
