/**
 * `sluice enqueue <source> <input-json>`: a manual re-run. The job gets a fresh jobId, so it is
 * never mistaken for the run it repeats, and a trace ID to follow it with `sluice job`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { CollectJob } from '../../functions/core/contracts.js';
import { jobKeyFromJobId } from '../../functions/core/job-key.js';
import { findSource, sources } from '../../sources/registry.js';
import { CliError, type SluiceTarget } from '../target.js';

export interface Enqueued {
  readonly source: string;
  readonly jobKey: string;
  readonly traceId: string;
  readonly job: CollectJob;
}

export function manualJobId(now: Date): string {
  return `manual-${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
}

export async function enqueueJob(
  target: SluiceTarget,
  sourceName: string | undefined,
  inputText: string | undefined,
  options: { readonly jobId?: string; readonly traceId?: string; readonly now?: Date } = {},
): Promise<Enqueued> {
  const known = sources.map((s) => s.name).join(', ');
  if (sourceName === undefined) {
    throw new CliError(`usage: sluice enqueue <source> ['<input as JSON>']   (sources: ${known})`, 2);
  }
  const source = findSource(sourceName);
  const queue = target.resources.sourceQueues.get(sourceName);
  if (source === undefined || queue === undefined) {
    throw new CliError(`unknown source ${JSON.stringify(sourceName)}; known sources: ${known}`);
  }
  let input: unknown;
  try {
    // A source without parameters takes a job without input.
    input = JSON.parse(inputText ?? '{}');
  } catch (cause) {
    throw new CliError(
      `the input must be JSON, e.g. '{"category":"garden","page":1}': ${(cause as Error).message}`,
      2,
    );
  }
  const checked = source.input.safeParse(input);
  if (!checked.success) {
    const issues = checked.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new CliError(`input is not valid for ${source.name}: ${issues}`, 2);
  }
  const now = options.now ?? new Date();
  const parsed = CollectJob.safeParse({
    source: source.name,
    input,
    jobId: options.jobId ?? manualJobId(now),
    traceId: options.traceId ?? randomUUID(),
    requestedAt: now.toISOString(),
    priority: 'high',
  });
  if (!parsed.success) {
    throw new CliError(
      `not a valid job: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      2,
    );
  }
  const job = parsed.data;
  await target.clients.sqs.send(
    new SendMessageCommand({ QueueUrl: queue.jobsUrl, MessageBody: JSON.stringify(job) }),
  );
  return {
    source: source.name,
    jobKey: jobKeyFromJobId(job.jobId as string),
    traceId: job.traceId as string,
    job,
  };
}
