// The last-in-first-out list of releases for everything a run acquires (loop
// devices, mounts, containers, temporary folders). A resource is registered
// the moment it is acquired, so a failure or Ctrl-C anywhere releases exactly
// what this run took, and nothing else.
export interface CleanupEntry {
  label: string;
  release: () => Promise<void>;
}

export class CleanupStack {
  private entries: CleanupEntry[] = [];

  /** Registers a release; returns a function that runs it now and forgets it. */
  push(label: string, release: () => Promise<void>): () => Promise<void> {
    const entry: CleanupEntry = { label, release };
    this.entries.push(entry);
    return async () => {
      const index = this.entries.lastIndexOf(entry);
      if (index === -1) return;
      this.entries.splice(index, 1);
      await entry.release();
    };
  }

  /**
   * Work already under way that the run must see finished before it ends (a
   * removal left to run while the next work goes on): the unwind waits for
   * it, and reports its failure as any release's.
   */
  background(label: string, work: Promise<void>): void {
    const outcome = work.then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
    this.push(label, async () => {
      const failed = await outcome;
      if (failed !== undefined) throw failed.error;
    });
  }

  get size(): number {
    return this.entries.length;
  }

  /** Releases everything, newest first; a failing release does not stop the others. */
  async unwind(onError: (label: string, error: unknown) => void): Promise<void> {
    while (this.entries.length > 0) {
      const entry = this.entries.pop() as CleanupEntry;
      try {
        await entry.release();
      } catch (error) {
        onError(entry.label, error);
      }
    }
  }
}
