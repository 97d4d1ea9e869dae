// VRF names: resolved through the kernel's VRF device (IFLA_LINKINFO kind "vrf",
// IFLA_VRF_TABLE). This kernel has no VRF driver (CONFIG_NET_VRF is off), so the device
// arrives here as a constructed RTM_NEWLINK message, decoded by the daemon's own codec.
import { describe, expect, it } from 'vitest';
import { MessageWriter, splitMessages } from '../../src/kernel/netlink-codec.js';
import { decodeLink, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_VRF_TABLE, type KernelLink } from '../../src/kernel/rtnetlink-codec.js';
import { parseRtTables } from '../../src/model/route-table.js';
import { Rib } from '../../src/rib/rib.js';
import { VrfRoutes } from '../../src/rib/vrf-routes.js';
import { parseJsonLine } from '../../src/sources/jsonl-parse.js';

const RTM_NEWLINK = 16;

/** An RTM_NEWLINK as the kernel sends it for `ip link add <name> type <kind> table <t>`. */
function linkMessage(ifindex: number, name: string, kind: string, table?: number): KernelLink {
  const w = new MessageWriter();
  w.begin(RTM_NEWLINK, 0, 1).u8(0).u8(0).u16(1).i32(ifindex).u32(0x10043).u32(0);
  w.attrBytes(3, Buffer.from(`${name}\0`));
  const info = w.mark();
  w.u16(0).u16(IFLA_LINKINFO);
  w.attrBytes(IFLA_INFO_KIND, Buffer.from(`${kind}\0`));
  if (table !== undefined) {
    const data = w.mark();
    w.u16(0).u16(IFLA_INFO_DATA);
    w.attrU32(IFLA_VRF_TABLE, table);
    w.closeLength(data);
  }
  w.closeLength(info);
  w.end();
  return decodeLink(splitMessages(w.take()).messages[0]!);
}

describe('VRF devices', () => {
  it('a VRF link message gives its table; other kinds have none', () => {
    expect(linkMessage(9, 'blue', 'vrf', 1001)).toMatchObject({ name: 'blue', kind: 'vrf', vrfTable: 1001 });
    expect(linkMessage(10, 'br0', 'bridge').vrfTable).toBeUndefined();
    // IFLA_INFO_DATA is per kind: attribute 1 of a non-VRF is not a table
    expect(linkMessage(11, 'x0', 'veth', 7).vrfTable).toBeUndefined();
  });

  describe('routes placed by VRF name', () => {
    const links = new Map<string, KernelLink>();
    const ctx = {
      defaultTable: 254,
      tables: parseRtTables(''),
      vrfTable: (name: string) => (links.get(name)?.kind === 'vrf' ? links.get(name)?.vrfTable : undefined),
    };
    const line = (o: object) => parseJsonLine(JSON.stringify(o), ctx);
    const nexthops = [{ via: 'fe80::1', dev: 'swp1' }];

    it('resolve to the device\'s table; an unknown VRF or a non-VRF device is a clear error', () => {
      links.set('blue', linkMessage(9, 'blue', 'vrf', 1001));
      links.set('br0', linkMessage(10, 'br0', 'bridge'));
      expect(line({ op: 'add', prefix: '10.1.0.0/24', vrf: 'blue', nexthops })).toMatchObject({ ok: true, update: { route: { table: 1001 }, vrf: 'blue' } });
      expect(line({ op: 'withdraw', prefix: '10.1.0.0/24', vrf: 'blue' })).toMatchObject({ ok: true, update: { table: 1001, vrf: 'blue' } });
      expect(line({ op: 'add', prefix: '10.1.0.0/24', vrf: 'red', nexthops })).toEqual({ ok: false, field: 'vrf', error: 'vrf: no VRF device named "red" (ip -d link show type vrf)' });
      expect(line({ op: 'add', prefix: '10.1.0.0/24', vrf: 'br0', nexthops })).toMatchObject({ ok: false, error: expect.stringMatching(/^vrf: no VRF device named "br0"/) });
      expect(line({ op: 'add', prefix: '10.1.0.0/24', vrf: 7, nexthops })).toEqual({ ok: false, field: 'vrf', error: 'vrf: expected a VRF device name, got 7' });
      expect(line({ op: 'add', prefix: '10.1.0.0/24', vrf: 'blue', table: 5, nexthops })).toMatchObject({ ok: false, error: expect.stringMatching(/^vrf: give "table" or "vrf", not both/) });
    });

    it('follow their VRF when the device comes back with another table; routes by table number stay', () => {
      links.set('blue', linkMessage(9, 'blue', 'vrf', 1001));
      const rib = new Rib();
      const vrfs = new VrfRoutes();
      for (const prefix of ['10.1.0.0/24', '10.2.0.0/24']) {
        const r = line({ op: 'add', prefix, vrf: 'blue', nexthops });
        if (!r.ok || r.update.op !== 'add') throw new Error('parse');
        rib.add('jsonl#1', r.update.route);
        vrfs.added('blue', 'jsonl#1', r.update.route);
      }
      const byNumber = line({ op: 'add', prefix: '10.3.0.0/24', table: 1001, nexthops });
      if (!byNumber.ok || byNumber.update.op !== 'add') throw new Error('parse');
      rib.add('jsonl#1', byNumber.update.route);
      // one was withdrawn meanwhile: it must not come back
      rib.withdraw(1001, { addr: 0x0a020000, len: 24, key: '10.2.0.0/24' });

      expect(vrfs.follow('blue', 1001, rib)).toBeUndefined(); // same table: nothing moves
      const blue = linkMessage(12, 'blue', 'vrf', 2002); // deleted and re-created
      links.set('blue', blue);
      expect(vrfs.follow('blue', blue.vrfTable!, rib)).toEqual({ from: 1001, to: 2002, moved: 1 });
      const keys = [...rib.store.slots()].filter((s) => rib.routeAt(s)).map((s) => rib.keyOf(s)).sort();
      expect(keys).toEqual(['1001:10.3.0.0/24', '2002:10.1.0.0/24']);
      // a later withdraw by VRF name reaches the new table
      const w = line({ op: 'withdraw', prefix: '10.1.0.0/24', vrf: 'blue' });
      expect(w).toMatchObject({ ok: true, update: { table: 2002 } });
    });
  });
});
