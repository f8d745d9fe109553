/**
 * What the benchmark does differently because the AWS side is moto, not AWS — each one measured
 * and reported, never hidden.
 *
 * moto 5.2's TransactWriteItems deep-copies every table it touches (once per item in the
 * transaction) to roll back on failure, without a lock: its cost grows with the table's size, and
 * two transactions at once can fail with HTTP 500 ("dictionary changed size during iteration").
 * DynamoDB's transactions cost neither. The job ledger writes one transaction per attempt, so the
 * component benchmarks give each measured batch a fresh ledger table (the copy stays small) and
 * let one ledger transaction reach moto at a time. Both make Sluice's figures worse, not better:
 * the wait for the lock is inside Sluice's measured time.
 */
import type { JobLedger } from './sluice-ports.js';
import { timeStep } from './step-profile.js';

export function serializedLedger(ledger: JobLedger): JobLedger {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    recordAttempt(entry) {
      const turn = timeStep('ledger: wait for the moto lock', () => tail).then(() =>
        timeStep('ledger: transaction in moto', () => ledger.recordAttempt(entry)),
      );
      tail = turn.catch(() => undefined);
      return turn;
    },
    history: (jobKey) => ledger.history(jobKey),
  };
}
