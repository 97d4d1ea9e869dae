// A list of observers, so that wiring one part to another never replaces an earlier wiring
// (a single callback field does: a second `x.onPass =` silently unhooks the first).

/** the list and its add(); each kind below says how its observers are told */
abstract class ObserverList<F> {
  protected readonly list: F[] = [];

  /** adds `fn`; the function returned removes it again */
  add(fn: F): () => void {
    this.list.push(fn);
    return () => {
      const i = this.list.indexOf(fn);
      if (i >= 0) this.list.splice(i, 1);
    };
  }
}

export class Observers<A extends unknown[]> extends ObserverList<(...args: A) => void> {
  notify(...args: A): void {
    for (const fn of this.list) fn(...args);
  }
}

/**
 * Observers of one value, told without a rest-argument array: the RIB tells one of these per
 * route change, a million times in a feed, and each array was garbage to collect.
 */
export class ValueObservers<T> extends ObserverList<(value: T) => void> {
  notify(value: T): void {
    const list = this.list;
    for (let i = 0; i < list.length; i++) list[i]!(value);
  }
}

/** Observers that may return a promise, awaited one after the other (a dump's consumers). */
export class AsyncObservers<A extends unknown[]> extends ObserverList<(...args: A) => void | Promise<void>> {
  async notify(...args: A): Promise<void> {
    for (const fn of this.list) await fn(...args);
  }
}
