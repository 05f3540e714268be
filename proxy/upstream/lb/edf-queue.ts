// Earliest-deadline-first queue: a binary min-heap of item ids 0..capacity-1 keyed by
// (deadline, insertion order). The insertion order breaks ties first-in-first-out, as Envoy's EDF
// scheduler does, which is what interleaves equal deadlines instead of bursting one item.
// Typed arrays sized once: nothing is allocated per pick.
export class EdfQueue {
  readonly #heap: Int32Array;
  readonly #deadline: Float64Array;
  readonly #order: Float64Array;
  #size = 0;
  #nextOrder = 0;

  constructor(capacity: number) {
    this.#heap = new Int32Array(capacity);
    this.#deadline = new Float64Array(capacity);
    this.#order = new Float64Array(capacity);
  }

  clear(): void {
    this.#size = 0;
    this.#nextOrder = 0;
  }

  deadlineOf(item: number): number {
    return this.#deadline[item];
  }

  // `item` must not be queued already.
  push(item: number, deadline: number): void {
    this.#deadline[item] = deadline;
    this.#order[item] = this.#nextOrder++;
    let i = this.#size++;
    const heap = this.#heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent];
      if (!this.#before(item, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = item;
  }

  // The item with the earliest deadline; the queue must not be empty.
  top(): number {
    return this.#heap[0];
  }

  // Gives the top item its next deadline (it goes behind items with the same deadline) and
  // restores heap order: one sift-down, half the work of a pop and a push.
  rescheduleTop(deadline: number): void {
    const heap = this.#heap;
    const item = heap[0];
    this.#deadline[item] = deadline;
    this.#order[item] = this.#nextOrder++;
    const size = this.#size;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && this.#before(heap[child + 1], heap[child])) child++;
      const c = heap[child];
      if (!this.#before(c, item)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = item;
  }

  // Moves every queued deadline `by` earlier; the order is unchanged. Keeps deadlines small so
  // that adding a small step to them stays exact.
  shift(by: number): void {
    for (let i = 0; i < this.#size; i++) this.#deadline[this.#heap[i]] -= by;
  }

  #before(a: number, b: number): boolean {
    const da = this.#deadline[a];
    const db = this.#deadline[b];
    return da < db || (da === db && this.#order[a] < this.#order[b]);
  }
}
