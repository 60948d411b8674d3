// Jobs ordered by when they are due: a binary min-heap with lazy removal (a job re-queued or dropped leaves its
// old entry behind, skipped when it surfaces), so re-scheduling is O(log n) without searching the heap.
export interface Queued {
  /** The sequence number of the job's live entry; entries with another number are stale. */
  queuedSeq: number;
}

interface Entry<T> {
  at: number;
  seq: number;
  item: T;
}

export class DueQueue<T extends Queued> {
  #heap: Entry<T>[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  push(item: T, at: number): void {
    const seq = ++this.#seq;
    item.queuedSeq = seq;
    const heap = this.#heap;
    const entry = { at, seq, item };
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  /** Forgets the item's entry (it surfaces later as stale). */
  cancel(item: T): void {
    item.queuedSeq = 0;
  }

  /** The time of the earliest live entry, dropping stale ones on the way. */
  peek(): number | undefined {
    while (this.#heap.length > 0) {
      const top = this.#heap[0]!;
      if (top.item.queuedSeq === top.seq) return top.at;
      this.#pop();
    }
    return undefined;
  }

  /** Removes and returns the live items due at or before `now`, earliest first. */
  takeDue(now: number, limit = Infinity): T[] {
    const due: T[] = [];
    while (due.length < limit) {
      const at = this.peek();
      if (at === undefined || at > now) break;
      const entry = this.#pop();
      entry.item.queuedSeq = 0;
      due.push(entry.item);
    }
    return due;
  }

  clear(): void {
    this.#heap = [];
  }

  #pop(): Entry<T> {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
        if (heap[child]!.at >= last.at) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
