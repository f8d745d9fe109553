/**
 * Counts the DynamoDB writes a client makes, failed conditional ones included: what a part pays
 * in write request units on AWS, whatever moto's speed. Counted per SDK call (before the SDK's
 * own retries, which moto's local endpoint does not need).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface DynamoWrites {
  /** UpdateItem calls, applied or not. */
  readonly updates: number;
  /** UpdateItem calls refused by their condition (DynamoDB still bills them a write unit). */
  readonly failedUpdates: number;
  readonly transactions: number;
  readonly cancelledTransactions: number;
  /** Items in the transactions that committed (each billed two write units per KB). */
  readonly committedTransactionItems: number;
}

export interface DynamoWriteCounter {
  /** The counts so far. */
  snapshot(): DynamoWrites;
}

export const NO_WRITES: DynamoWrites = {
  updates: 0,
  failedUpdates: 0,
  transactions: 0,
  cancelledTransactions: 0,
  committedTransactionItems: 0,
};

export function countDynamoWrites(client: DynamoDBClient): DynamoWriteCounter {
  const counts = { ...NO_WRITES };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName;
      const items = (args.input as { TransactItems?: readonly unknown[] }).TransactItems?.length ?? 0;
      try {
        const result = await next(args);
        if (command === 'UpdateItemCommand') counts.updates += 1;
        if (command === 'TransactWriteItemsCommand') {
          counts.transactions += 1;
          counts.committedTransactionItems += items;
        }
        return result;
      } catch (error) {
        if (command === 'UpdateItemCommand') {
          counts.updates += 1;
          if ((error as Error).name === 'ConditionalCheckFailedException') counts.failedUpdates += 1;
        }
        if (command === 'TransactWriteItemsCommand') {
          counts.transactions += 1;
          if ((error as Error).name === 'TransactionCanceledException') counts.cancelledTransactions += 1;
        }
        throw error;
      }
    },
    { step: 'initialize', name: 'benchCountDynamoWrites' },
  );
  return { snapshot: () => ({ ...counts }) };
}

/** `after` minus `before`, field by field. */
export function writesBetween(before: DynamoWrites, after: DynamoWrites): DynamoWrites {
  return {
    updates: after.updates - before.updates,
    failedUpdates: after.failedUpdates - before.failedUpdates,
    transactions: after.transactions - before.transactions,
    cancelledTransactions: after.cancelledTransactions - before.cancelledTransactions,
    committedTransactionItems: after.committedTransactionItems - before.committedTransactionItems,
  };
}

/**
 * Write request units on AWS for `writes` of items under 1 KB: one per UpdateItem (a refused one
 * too), two per item of a committed transaction. A cancelled transaction's units are left out,
 * so for transactions this is a floor.
 */
export function writeUnitsOf(writes: DynamoWrites): number {
  return writes.updates + 2 * writes.committedTransactionItems;
}
