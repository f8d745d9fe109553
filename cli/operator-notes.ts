/**
 * What an operator did to a job (requeued, discarded, resolved its task), kept in the job's ledger
 * partition beside its attempts, so `sluice job` tells the whole story later.
 *
 *   job ledger: pk = job#<jobKey>   sk = note#<at>#<random>   kind = operator-note
 */
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { jobPartitionKey, LEDGER_EXPIRY_ATTRIBUTE, ledgerExpiry } from '../functions/adapters/job-ledger.js';
import type { SluiceTarget } from './target.js';

export interface OperatorNote {
  readonly jobKey: string;
  readonly traceId?: string | undefined;
  readonly action: 'requeued' | 'discarded' | 'task-resolved' | 'enqueued';
  readonly note: string;
  readonly by: string;
  readonly at: Date;
}

/** Who is running the CLI: `--by`, else the login name. */
export function operatorName(explicit: string | undefined): string {
  if (explicit !== undefined && explicit.trim() !== '') return explicit.trim();
  try {
    return userInfo().username;
  } catch {
    return 'unknown operator';
  }
}

export async function addOperatorNote(target: SluiceTarget, note: OperatorNote): Promise<void> {
  const at = note.at.toISOString();
  // A note expires with the job's other items, the ledger's retention after it was written.
  const expiresAt = ledgerExpiry(note.at, target.resources.ledgerRetentionDays);
  await target.clients.documents.send(
    new PutCommand({
      TableName: target.resources.ledgerTable,
      Item: {
        pk: jobPartitionKey(note.jobKey),
        sk: `note#${at}#${randomBytes(3).toString('hex')}`,
        kind: 'operator-note',
        jobKey: note.jobKey,
        traceId: note.traceId,
        action: note.action,
        note: note.note,
        by: note.by,
        at,
        ...(expiresAt === undefined ? {} : { [LEDGER_EXPIRY_ATTRIBUTE]: expiresAt }),
      },
    }),
  );
}
