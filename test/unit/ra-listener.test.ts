// Router solicitations on link up: a send that fails because our link-local is still
// tentative is retried, not reported; other failures are reported with the interface.
import { describe, expect, it } from 'vitest';
import { RaListener, type NativeCtor } from '../../src/ra/ra-listener.js';

function errnoError(errno: number, text: string): Error {
  return Object.assign(new Error(`sendmsg: ${text}`), { errno });
}

/** A socket whose sends fail with the given errors, in order, then succeed. */
function fakeSocket(failures: Error[]): { ctor: NativeCtor; sends: number[] } {
  const sends: number[] = [];
  const ctor = class {
    send(_data: Buffer, _dst: Buffer, ifindex: number): void {
      const f = failures.shift();
      if (f) throw f;
      sends.push(ifindex);
    }
    close(): void {}
  } as unknown as NativeCtor;
  return { ctor, sends };
}

const MAC = Buffer.from('020000000201', 'hex');
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RaListener.solicit', () => {
  it.each([
    ['Network is unreachable (ENETUNREACH)', 101],
    ['Cannot assign requested address (EADDRNOTAVAIL)', 99],
  ])('%s right after link up: retried until it goes, nothing reported', async (text, errno) => {
    const { ctor, sends } = fakeSocket([errnoError(errno, text), errnoError(errno, text)]);
    const errors: [string, number | undefined][] = [];
    const ra = new RaListener(() => {}, (e, ifindex) => errors.push([e.message, ifindex]), { native: ctor, solicitRetryMs: 1 });
    ra.start();
    ra.solicit(7, MAC);
    await settle(50);
    expect(sends).toEqual([7]);
    expect(errors).toEqual([]);
    expect(ra.stats()).toMatchObject({ solicitationsSent: 1, solicitationsRetried: 2 });
    ra.stop();
  });

  it('still failing after the retries: reported once, with the interface', async () => {
    const { ctor, sends } = fakeSocket(Array.from({ length: 10 }, () => errnoError(101, 'Network is unreachable')));
    const errors: [string, number | undefined][] = [];
    const ra = new RaListener(() => {}, (e, ifindex) => errors.push([e.message, ifindex]), { native: ctor, solicitRetries: 3, solicitRetryMs: 1 });
    ra.start();
    ra.solicit(7, MAC);
    await settle(50);
    expect(sends).toEqual([]);
    expect(errors).toEqual([['sendmsg: Network is unreachable', 7]]);
    ra.stop();
  });

  it('another error is reported at once, with the interface', () => {
    const { ctor } = fakeSocket([errnoError(19, 'No such device')]);
    const errors: [string, number | undefined][] = [];
    const ra = new RaListener(() => {}, (e, ifindex) => errors.push([e.message, ifindex]), { native: ctor, solicitRetryMs: 1 });
    ra.start();
    ra.solicit(9, MAC);
    expect(errors).toEqual([['sendmsg: No such device', 9]]);
    ra.stop();
  });

  it('stop cancels pending retries', async () => {
    const { ctor, sends } = fakeSocket([errnoError(101, 'Network is unreachable')]);
    const ra = new RaListener(() => {}, () => {}, { native: ctor, solicitRetryMs: 20 });
    ra.start();
    ra.solicit(7, MAC);
    ra.stop();
    await settle(50);
    expect(sends).toEqual([]);
  });
});
