// Why a desired route is not in the kernel, interned: a slot stores a number, and a million
// pending routes share a few texts.
import { NONE } from '../rib/route-store.js';
import type { PendingCode } from './resolver.js';

export interface PendingRoute {
  readonly code: PendingCode;
  readonly reason: string;
}

export class PendingReasons {
  private readonly byText = new Map<string, number>();
  private readonly all: PendingRoute[] = [{ code: 'kernel-error', reason: '' }];
  /** verdicts are shared objects: most look-ups end here */
  private readonly byVerdict = new WeakMap<object, number>();

  id(p: PendingRoute): number {
    const cached = this.byVerdict.get(p);
    if (cached !== undefined) return cached;
    const text = `${p.code}\n${p.reason}`;
    let id = this.byText.get(text);
    if (id === undefined) {
      id = this.all.length;
      this.all.push({ code: p.code, reason: p.reason });
      this.byText.set(text, id);
    }
    this.byVerdict.set(p, id);
    return id;
  }

  get(id: number): PendingRoute | undefined {
    return id === NONE ? undefined : this.all[id];
  }
}
