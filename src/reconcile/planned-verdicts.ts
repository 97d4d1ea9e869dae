// A pass's verdicts as columns: the slot and an index into the pass's few distinct verdicts
// (they are shared objects: installed, removed, pending per next-hop set). A full pass of a
// million routes held two million-element arrays of these, promoted garbage after the pass;
// two typed arrays sized to the pass are freed with it.
import type { RouteVerdict } from './plan.js';

export class PlannedVerdicts {
  private slotColumn: Int32Array;
  private verdictColumn: Uint32Array;
  private readonly distinct: RouteVerdict[] = [];
  private readonly indexOf = new Map<RouteVerdict, number>();
  length = 0;

  /** `expected`: the number of slots the pass plans, if known (no growth then) */
  constructor(expected = 0) {
    const n = Math.max(16, expected);
    this.slotColumn = new Int32Array(n);
    this.verdictColumn = new Uint32Array(n);
  }

  push(slot: number, v: RouteVerdict): void {
    if (this.length === this.slotColumn.length) this.grow();
    let i = this.indexOf.get(v);
    if (i === undefined) {
      i = this.distinct.length;
      this.distinct.push(v);
      this.indexOf.set(v, i);
    }
    this.slotColumn[this.length] = slot;
    this.verdictColumn[this.length] = i;
    this.length++;
  }

  slotAt(i: number): number {
    return this.slotColumn[i]!;
  }

  verdictAt(i: number): RouteVerdict {
    return this.distinct[this.verdictColumn[i]!]!;
  }

  private grow(): void {
    const n = this.slotColumn.length * 2;
    const s = new Int32Array(n);
    s.set(this.slotColumn);
    this.slotColumn = s;
    const v = new Uint32Array(n);
    v.set(this.verdictColumn);
    this.verdictColumn = v;
  }
}
