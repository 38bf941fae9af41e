/**
 * Jobs run one at a time, in the order they were queued: what the node does where two jobs at once
 * would lose one another's writes (a status list, the operators' file, the roster's transactions) or
 * re-index out of order. A job's failure goes to whoever queued it; the jobs after it still run.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `job` after every job queued before it; settles as the job does. */
  run<T>(job: () => T | Promise<T>): Promise<T> {
    const result = this.#tail.then(job);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves once every job queued so far has ended, however it ended. */
  idle(): Promise<void> {
    return this.#tail.then(() => undefined);
  }
}
