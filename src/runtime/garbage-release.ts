// One full garbage collection after a big reconcile pass, once the work has run out. A
// million-route install leaves 50-100 MB of dead arrays (the pass's plan and queues, the
// route store's outgrown columns) that V8 collects only when the old generation next
// reaches its limit, which an idle daemon never does: RSS measured right after an install
// read 165-245 MB of which 25-100 MB was garbage (npm run bench). The collection of a 20 MB
// live heap takes 30-45 ms (see fullCollection); it runs only when that much garbage has
// piled up and no more work is queued: once at the end of a big install, not per pass.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** garbage that makes a collection worth it: less than this stays for V8 to collect */
const RELEASE_AFTER_BYTES = 32 * 1024 * 1024;

/**
 * When to collect, from the heap's size (JS heap in use plus memory held outside it by
 * ArrayBuffers) at each pass end. Pure: the caller measures and collects.
 */
export class ReleasePolicy {
  /** the heap's size after the last collection (0 before one) */
  private floor = 0;

  constructor(private readonly afterBytes = RELEASE_AFTER_BYTES) {}

  /**
   * A pass ended with the heap at `heapBytes`; `idle` tells whether work is still queued (it
   * is asked only when the heap has grown enough). True: collect now, then call collected().
   */
  shouldCollect(heapBytes: number, idle: () => boolean): boolean {
    if (heapBytes < this.floor) this.floor = heapBytes; // V8 collected on its own meanwhile
    return heapBytes - this.floor >= this.afterBytes && idle();
  }

  collected(heapBytes: number): void {
    this.floor = heapBytes;
  }
}

/** the JS heap in use plus what ArrayBuffers and other external memory hold */
export function heapBytes(): number {
  const h = getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}

/**
 * V8's full collection, twice: the first leaves sweeping and the unmapping of freed pages to
 * background threads, which on a loaded machine let RSS lag 20-40 MB behind for tens of ms
 * (175 MB right after it, 141 MB 20 ms later, at a million routes); the second finishes that
 * work at once (172 -> 134 MB). Together 30-45 ms at a million routes, once per big pass.
 * The global `gc` when node runs with --expose-gc, else the same function exposed at run time
 * (the flag only adds the function; it changes no heuristics).
 */
export function fullCollection(): () => void {
  const gc = exposedGc();
  return () => {
    gc();
    gc();
  };
}

function exposedGc(): () => void {
  const global = (globalThis as { gc?: unknown }).gc;
  if (typeof global === 'function') return global as () => void;
  setFlagsFromString('--expose-gc');
  const exposed: unknown = runInNewContext('gc');
  return typeof exposed === 'function' ? (exposed as () => void) : () => undefined;
}
