// Tasks run one after another per key, different keys concurrently: events of one namespace keep their order
// while namespaces do not wait for each other.

export class SerialQueues {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `task` after every task queued before it under `key`; resolves or rejects with its outcome. */
  run(key: string, task: () => Promise<void>): Promise<void> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  get size(): number {
    return this.#tails.size;
  }

  /** Resolves once every task queued so far has finished. */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.all(this.#tails.values());
  }
}
