// The kernel contract (test/helpers/kernel-contract.ts) against the FakeKernel, no root.
// test/netns/kernel-contract.test.ts runs the same cases against the real kernel.
import { describe, it } from 'vitest';
import { FakeKernel } from '../../src/kernel/fake-kernel.js';
import { KERNEL_CONTRACT, recordEvents, type ContractWorld } from '../helpers/kernel-contract.js';

const H0 = 2;

function fakeWorld(): ContractWorld {
  const port = new FakeKernel([{ ifindex: H0, name: 'h0', mac: Buffer.from('020000000201', 'hex') }]);
  const settle = () => new Promise<void>((r) => setImmediate(r));
  return {
    port,
    ifindex: H0,
    events: recordEvents(port),
    adminUp: async (up) => (port.setAdmin(H0, up), settle()),
    carrier: async (on) => (port.setCarrier(H0, on), settle()),
    setLinkMac: async (mac) => (port.setMac(H0, Buffer.from(mac.replaceAll(':', ''), 'hex')), settle()),
    foreignRoute: async (change, r) => {
      const res = port.foreignRoute(change, r);
      if (!res.ok) throw new Error(`foreign route ${change}: ${res.error}`);
      await settle();
    },
  };
}

describe('the kernel contract on the FakeKernel', () => {
  for (const c of KERNEL_CONTRACT) {
    it(c.name, async () => {
      const w = fakeWorld();
      try {
        await c.run(w);
      } finally {
        await w.port.close();
      }
    });
  }
});
