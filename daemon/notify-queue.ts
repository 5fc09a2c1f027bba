// The notifier's deliveries still running, so that the stop path can wait for them (bounded): a `--once` run
// that exits on a pause still hands its event to notify.command.

export class DeliveryQueue {
  private readonly pending = new Set<Promise<void>>();

  /** Track a delivery until it settles; it must not reject. */
  add(delivery: Promise<void>): void {
    this.pending.add(delivery);
    void delivery.then(() => this.pending.delete(delivery));
  }

  /** Wait for the deliveries still running, at most `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.pending]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
