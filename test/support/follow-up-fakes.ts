/** An in-memory FollowUpQueue for unit tests: keeps every job it was asked to send, in order. */
import type { PlannedFollowUp } from '../../functions/core/follow-ups.js';
import type { FollowUpQueue } from '../../functions/core/ports.js';

export class MemoryFollowUpQueue implements FollowUpQueue {
  readonly sent: PlannedFollowUp[] = [];
  /** Sends that fail before this many more calls succeed. */
  failNext = 0;

  async enqueue(followUps: readonly PlannedFollowUp[]): Promise<void> {
    if (followUps.length === 0) return;
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('the follow-up queue refused the batch');
    }
    this.sent.push(...followUps);
  }
}
