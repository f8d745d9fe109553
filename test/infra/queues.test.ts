import { beforeAll, describe, expect, it } from 'vitest';
import { jobsQueueName } from '../../functions/core/resource-names.js';
import { UNREPORTED_RECEIVES_ALLOWED } from '../../functions/core/retry-policy.js';
import {
  DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES,
  WORK_QUEUE_MAX_MESSAGE_BYTES,
} from '../../infra/queue-limits.js';
import { sources } from '../../sources/registry.js';
import {
  logicalIdOf,
  queueConsumers,
  type Resources,
  resourceById,
  type SynthesizedSluice,
  synthesizeSluice,
  tagsOf,
} from './sluice-template.js';

const FOURTEEN_DAYS_SECONDS = 14 * 24 * 60 * 60;
// What CloudFormation applies when a property is absent.
const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30;
const DEFAULT_LAMBDA_TIMEOUT_SECONDS = 3;

let sluice: SynthesizedSluice;

beforeAll(() => {
  sluice = synthesizeSluice();
});

/** A source's queue pair, in the template of the stack it is deployed in. */
function queuePairOf(sourceName: string): { queueId: string; deadLetterId: string; resources: Resources } {
  const { stack, resources } = sluice.stackOf(sourceName);
  const pair = stack.pipelines.get(sourceName)?.jobs;
  if (pair === undefined) throw new Error(`no queue pair for source ${sourceName}`);
  return { queueId: logicalIdOf(pair.queue), deadLetterId: logicalIdOf(pair.deadLetterQueue), resources };
}

function numberProperty(resources: Resources, logicalId: string, property: string, fallback: number): number {
  const value = resourceById(resources, logicalId).Properties[property] ?? fallback;
  if (typeof value !== 'number')
    throw new Error(`${logicalId}.${property} is not a number: ${String(value)}`);
  return value;
}

describe.each(sources.map((source) => [source.name, source] as const))(
  'the %s jobs queue',
  (name, source) => {
    it('redrives to its own dead-letter queue only after every attempt of the budget, plus room for unreported receives', () => {
      const { queueId, deadLetterId, resources } = queuePairOf(name);

      expect(resourceById(resources, queueId).Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterId, 'Arn'] },
        maxReceiveCount: source.retry.delaysSeconds.length + 1 + UNREPORTED_RECEIVES_ALLOWED,
      });
      // The collector decides on its last attempt itself (with a reason) before SQS would redrive.
      expect(UNREPORTED_RECEIVES_ALLOWED).toBeGreaterThan(0);
    });

    it('encrypts the jobs queue and its dead-letter queue at rest', () => {
      const { queueId, deadLetterId, resources } = queuePairOf(name);

      for (const id of [queueId, deadLetterId]) {
        const props = resourceById(resources, id).Properties;
        const encrypted = props.SqsManagedSseEnabled === true || props.KmsMasterKeyId !== undefined;
        expect(encrypted, `${id} has neither SQS-managed SSE nor a KMS key`).toBe(true);
      }
    });

    it('keeps dead letters for 14 days', () => {
      const { deadLetterId, resources } = queuePairOf(name);

      expect(resourceById(resources, deadLetterId).Properties.MessageRetentionPeriod).toBe(
        FOURTEEN_DAYS_SECONDS,
      );
    });

    it('tags both queues with the source, their role and the collect stage', () => {
      const { queueId, deadLetterId, resources } = queuePairOf(name);

      expect(tagsOf(resourceById(resources, queueId))).toMatchObject({
        'sluice:source': name,
        'sluice:role': 'work',
        'sluice:stage': 'collect',
      });
      expect(tagsOf(resourceById(resources, deadLetterId))).toMatchObject({
        'sluice:source': name,
        'sluice:role': 'dead-letter',
        'sluice:stage': 'collect',
      });
    });

    it('names the jobs queue after the app and the source, and its DLQ after the queue', () => {
      const { queueId, deadLetterId, resources } = queuePairOf(name);

      expect(resourceById(resources, queueId).Properties.QueueName).toBe(jobsQueueName('Sluice', name));
      expect(resourceById(resources, deadLetterId).Properties.QueueName).toBe(
        `${jobsQueueName('Sluice', name)}-dlq`,
      );
    });
  },
);

describe('the transform queue', () => {
  it('redrives to its own encrypted dead-letter queue that keeps messages for 14 days', () => {
    const { stack, resources } = sluice.core;
    const queueId = logicalIdOf(stack.transformQueue.queue);
    const deadLetterId = logicalIdOf(stack.transformQueue.deadLetterQueue);

    expect(resourceById(resources, queueId).Properties).toMatchObject({
      QueueName: 'Sluice-transform',
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterId, 'Arn'] } },
      SqsManagedSseEnabled: true,
    });
    expect(resourceById(resources, deadLetterId).Properties).toMatchObject({
      QueueName: 'Sluice-transform-dlq',
      MessageRetentionPeriod: FOURTEEN_DAYS_SECONDS,
      SqsManagedSseEnabled: true,
    });
  });
});

describe('every queue pair', () => {
  it('gives its dead-letter queue room for any message of its work queue plus the reason attributes', () => {
    const pairs = [
      { pair: sluice.core.stack.transformQueue, resources: sluice.core.resources },
      ...sluice.sourceStacks.flatMap(({ stack, resources }) =>
        [...stack.pipelines.values()].map((p) => ({ pair: p.jobs, resources })),
      ),
    ];

    const sizes = pairs.map(({ pair, resources }) => ({
      work: resourceById(resources, logicalIdOf(pair.queue)).Properties.MaximumMessageSize,
      deadLetter: resourceById(resources, logicalIdOf(pair.deadLetterQueue)).Properties.MaximumMessageSize,
    }));

    expect(pairs.length).toBe(sources.length + 1);
    expect(new Set(sizes.map((s) => JSON.stringify(s)))).toEqual(
      new Set([
        JSON.stringify({
          work: WORK_QUEUE_MAX_MESSAGE_BYTES,
          deadLetter: DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES,
        }),
      ]),
    );
    // Eight attributes of at most 1,000 characters (4 bytes each in UTF-8) and their names.
    expect(DEAD_LETTER_QUEUE_MAX_MESSAGE_BYTES - WORK_QUEUE_MAX_MESSAGE_BYTES).toBeGreaterThan(8 * 4_100);
  });
});

/** Every event source mapping of every stack, with the stack's resources. */
function allConsumers() {
  return sluice.stacks.flatMap(({ name, resources }) =>
    queueConsumers(resources).map((consumer) => ({ ...consumer, stack: name, resources })),
  );
}

describe('event source mappings', () => {
  it('consume every source jobs queue and the transform queue, once each', () => {
    const expected = [
      ...sources.map((source) => `${sluice.stackOf(source.name).name}/${queuePairOf(source.name).queueId}`),
      `${sluice.core.name}/${logicalIdOf(sluice.core.stack.transformQueue.queue)}`,
    ];

    const consumed = allConsumers().map((consumer) => `${consumer.stack}/${consumer.queueId}`);

    expect(consumed.sort()).toEqual(expected.sort());
  });

  it("join each source's queue to a collector of the source's own stack", () => {
    for (const source of sources) {
      const { resources } = queuePairOf(source.name);
      const consumer = queueConsumers(resources).find((c) => c.queueId === queuePairOf(source.name).queueId);

      expect(
        resourceById(resources, consumer?.functionId ?? '').Metadata?.['sluice:entry'],
        source.name,
      ).toBe(`functions/collector/${source.kind}-handler.ts`);
    }
  });

  it('give every queue a visibility timeout of at least six times its consumer timeout', () => {
    const consumers = allConsumers();

    const tooShort = consumers.flatMap(({ queueId, functionId, resources }) => {
      const visibility = numberProperty(
        resources,
        queueId,
        'VisibilityTimeout',
        DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
      );
      const timeout = numberProperty(resources, functionId, 'Timeout', DEFAULT_LAMBDA_TIMEOUT_SECONDS);
      return visibility >= 6 * timeout
        ? []
        : [`${queueId} visibility ${visibility}s < 6 × ${functionId} timeout ${timeout}s`];
    });

    expect(consumers.length).toBeGreaterThan(0);
    expect(tooShort).toEqual([]);
  });

  it('report partial batch failures so one bad message does not retry its whole batch', () => {
    const consumers = allConsumers();

    const withoutPartialFailures = consumers
      .filter((consumer) => !consumer.functionResponseTypes.includes('ReportBatchItemFailures'))
      .map((consumer) => consumer.mappingId);

    expect(consumers.length).toBeGreaterThan(0);
    expect(withoutPartialFailures).toEqual([]);
  });

  it("cap each source's collector concurrency at the source's maxConcurrency", () => {
    const actual = Object.fromEntries(
      sources.map((source) => {
        const { queueId, resources } = queuePairOf(source.name);
        return [
          source.name,
          queueConsumers(resources).find((c) => c.queueId === queueId)?.maximumConcurrency,
        ];
      }),
    );

    expect(actual).toEqual(Object.fromEntries(sources.map((source) => [source.name, source.maxConcurrency])));
  });

  it('hand the transform each manifest as soon as a poller receives it: no batching window', () => {
    const transformQueueId = logicalIdOf(sluice.core.stack.transformQueue.queue);
    const transform = queueConsumers(sluice.core.resources).find(
      (consumer) => consumer.queueId === transformQueueId,
    );

    expect(transform).toBeDefined();
    // A window holds each manifest for up to its length waiting for more: the largest latency
    // item a job would see (docs/benchmarks.md, "Decisions").
    const mapping = resourceById(sluice.core.resources, transform?.mappingId ?? '');
    expect(mapping.Properties.MaximumBatchingWindowInSeconds ?? 0).toBe(0);
  });

  it("caps the transform's concurrency within Lambda's SQS limits (2..1000)", () => {
    const transformQueueId = logicalIdOf(sluice.core.stack.transformQueue.queue);

    const transform = queueConsumers(sluice.core.resources).find(
      (consumer) => consumer.queueId === transformQueueId,
    );

    expect(transform?.maximumConcurrency).toBeGreaterThanOrEqual(2);
    expect(transform?.maximumConcurrency).toBeLessThanOrEqual(1000);
  });
});
