import { Address4 } from 'ip-address';
import { describe, expect, it } from 'vitest';
import { linkLocalFromMac, macFromLinkLocal } from '../../src/model/eui64.js';
import { interfaceMatcher, parseInterfaceName } from '../../src/model/interface-name.js';
import { ipv4ToNumber, parseIpv4Prefix } from '../../src/model/ipv4-prefix.js';
import { checkKernelMode } from '../../src/kernel/kernel-version.js';
import { parseLinkLocal, type LinkLocal } from '../../src/model/link-local.js';
import { parseMac, type Mac } from '../../src/model/mac.js';
import { parseRtTables, resolveTable } from '../../src/model/route-table.js';

const ll = (s: string): LinkLocal => {
  const r = parseLinkLocal(s);
  if (!r.ok) throw new Error(r.error);
  return r.value;
};

describe('EUI-64', () => {
  it.each([
    ['fe80::a00:27ff:fe25:4c23', '08:00:27:25:4c:23'],
    ['fe80::ff:fe00:101', '02:00:00:00:01:01'],
    ['fe80::211:22ff:fe33:4455', '00:11:22:33:44:55'],
    ['fe80::fcff:ffff:feff:ffff', 'fe:ff:ff:ff:ff:ff'],
  ])('%s <-> %s', (addr, mac) => {
    expect(macFromLinkLocal(ll(addr))).toBe(mac);
    expect(linkLocalFromMac(parseMac(mac) as Mac)).toBe(addr);
  });

  it.each([
    'fe80::1',
    'fe80::5c3a:91ff:1e2b:7d01', // ff but no fe: not EUI-64
    'fe80::a00:27fe:ff25:4c23', // fe:ff swapped
    'fe80::dead:beef:cafe:f00d', // stable-privacy style
  ])('%s carries no MAC', (addr) => {
    expect(macFromLinkLocal(ll(addr))).toBeUndefined();
  });
});

describe('value types', () => {
  it('parses link-locals canonically and refuses everything else', () => {
    expect(ll('FE80:0:0:0:0A00:27FF:FE25:4C23')).toBe('fe80::a00:27ff:fe25:4c23');
    expect(ll('febf::1')).toBe('febf::1');
    for (const bad of ['2001:db8::1', 'fec0::1', '::1', 'fe80::1%eth0', 'fe80::/64', 'nonsense', '10.0.0.1']) {
      expect(parseLinkLocal(bad).ok, bad).toBe(false);
    }
  });

  it('parses IPv4 prefixes and names the problem', () => {
    expect(parseIpv4Prefix('10.1.0.0/24')).toEqual({ ok: true, value: { addr: 0x0a010000, len: 24, key: '10.1.0.0/24' } });
    expect(parseIpv4Prefix('0.0.0.0/0')).toMatchObject({ ok: true, value: { addr: 0, len: 0 } });
    expect(parseIpv4Prefix('10.1.0.1/24')).toEqual({ ok: false, error: '"10.1.0.1/24" has host bits set (did you mean 10.1.0.0/24?)' });
    expect(parseIpv4Prefix('10.1.0.0/33')).toMatchObject({ ok: false, error: expect.stringContaining('above 32') });
    expect(parseIpv4Prefix('10.1.0.256/32')).toMatchObject({ ok: false });
    expect(parseIpv4Prefix('10.1.0.0')).toMatchObject({ ok: false });
    expect(parseIpv4Prefix('fe80::/64')).toMatchObject({ ok: false });
    for (const bad of ['10.1.0.0/024', '10.1.0.0/', '/24', '10.01.0.0/16', '10.1.0.0/24 ', '10.1..0/24']) expect(parseIpv4Prefix(bad).ok, bad).toBe(false);
  });

  it('the hand-written IPv4 parser accepts exactly what ip-address accepts, with the same value', () => {
    const samples = ['0.0.0.0', '255.255.255.255', '10.1.2.3', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', '256.1.1.1', '1.2.3.255',
      '1..2.3', '.1.2.3', '1.2.3.', '', 'a.b.c.d', '1.2.3.4a', ' 1.2.3.4', '1.2.3.-4', '1.2.3.0x1', '100.200.250.199', '0.00.0.0', '1e2.0.0.0'];
    for (let i = 0; i < 2000; i++) samples.push([0, 1, 2, 3].map((k) => String((i * 37 + k * 101) % 300)).join('.'));
    for (const text of samples) {
      const expected = Address4.isValid(text) ? new Address4(text).bigInt() : undefined;
      expect(ipv4ToNumber(text) === undefined ? undefined : BigInt(ipv4ToNumber(text)!), text).toBe(expected);
    }
  });

  it('parses MACs and interface names', () => {
    expect(parseMac('02-00-00-00-01-01')).toBe('02:00:00:00:01:01');
    expect(parseMac('02:00:00:00:01')).toBeUndefined();
    expect(parseInterfaceName('swp1').ok).toBe(true);
    expect(parseInterfaceName('a-very-long-interface').ok).toBe(false);
    expect(parseInterfaceName('eth0/1').ok).toBe(false);
    const m = interfaceMatcher(['swp*', 'h0']);
    expect([m('swp12'), m('h0'), m('h01'), m('eth0')]).toEqual([true, true, false, false]);
    expect(interfaceMatcher([])('anything')).toBe(true);
  });

  it('resolves tables by number and rt_tables name, never local', () => {
    const names = parseRtTables('# comment\n255 local\n254 main\n100 vrf-blue\n0x200 hexed\nbad line\n');
    expect(resolveTable('vrf-blue', names)).toEqual({ ok: true, value: 100 });
    expect(resolveTable('hexed', names)).toEqual({ ok: true, value: 512 });
    expect(resolveTable(1000, names)).toEqual({ ok: true, value: 1000 });
    expect(resolveTable('main', names)).toEqual({ ok: true, value: 254 });
    expect(resolveTable('local', names)).toMatchObject({ ok: false });
    expect(resolveTable(0, names)).toMatchObject({ ok: false });
    expect(resolveTable(2 ** 32, names)).toMatchObject({ ok: false });
    expect(resolveTable('nope', names)).toEqual({ ok: false, error: '"nope" is not a table known to rt_tables' });
  });
});

describe('kernel release', () => {
  it('kernel.mode via is refused before Linux 5.2, with the field and the kernel named', () => {
    expect(() => checkKernelMode('via', '5.1.21-generic')).toThrow(/kernel\.mode: "via" needs Linux 5\.2 or later .* this kernel is 5\.1\.21-generic/);
    expect(() => checkKernelMode('via', '4.19.0')).toThrow(/kernel\.mode/);
    expect(() => checkKernelMode('via', 'weird')).toThrow(/kernel\.mode/);
    for (const r of ['5.2.0', '5.10.1', '6.18.44-fc-v669']) expect(() => checkKernelMode('via', r)).not.toThrow();
    expect(() => checkKernelMode('neighbor', '3.10.0')).not.toThrow();
  });
});
