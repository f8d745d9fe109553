/** The chaos run's figures table: what was injected, how jobs ended, and every invariant's count. */
import type { ChaosReport } from './scenario.js';

function row(label: string, value: string | number, note = ''): string {
  return `  ${label.padEnd(50)}${String(value).padStart(8)}${note === '' ? '' : `   ${note}`}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function list(counts: { readonly [key: string]: number }): string {
  return Object.entries(counts)
    .sort(([, a], [, b]) => b - a)
    .map(([key, count]) => `${key} ${count}`)
    .join(', ');
}

export function renderFigures(report: ChaosReport): string {
  const { faults, check } = report;
  const lines = [
    `Chaos run ${report.runId} — seed ${report.seed}`,
    row('jobs', report.jobs, list(report.jobsBySource)),
    '',
    'Faults injected',
    row('demo site: 5xx answers', faults.site['server-error']),
    row('demo site: 429 with Retry-After', faults.site.throttle),
    row('demo site: hung requests', faults.site.hang),
    row('demo site: captcha pages', faults.site.captcha),
    row(
      'demo site: changed layouts (requests)',
      faults.site['layout-changed'],
      `${faults.layoutChangedJobs} jobs`,
    ),
    row(
      'SQS: duplicate deliveries (event source mapping)',
      faults.duplicateDeliveries.concurrent + faults.duplicateDeliveries.after,
      `concurrent ${faults.duplicateDeliveries.concurrent}, after ${faults.duplicateDeliveries.after}`,
    ),
    row('SQS: job messages sent twice by upstream', faults.duplicateJobMessages),
    row('SQS: S3 events delivered twice, late', faults.duplicatedS3Events),
    row(
      'SQS: poison messages',
      faults.poison.jobsQueues + faults.poison.transformQueue,
      `jobs queues ${faults.poison.jobsQueues}, transform queue ${faults.poison.transformQueue}`,
    ),
    row('Lambda: collector killed after writing raw data', faults.collectorCrashes['after-raw']),
    row(
      'Lambda: collector killed after the ledger, before ack',
      faults.collectorCrashes['after-ledger'],
      `${faults.containersKilled} containers killed in all`,
    ),
    row(
      'Lambda: invocations timed out (a consequence)',
      Object.values(faults.invocationTimeouts).reduce((a, b) => a + b, 0),
      list(Object.fromEntries(Object.entries(faults.invocationTimeouts).filter(([, n]) => n > 0))),
    ),
    row('S3: 503 SlowDown', faults.aws['s3-slow-down']),
    row('S3: 500 InternalError', faults.aws['s3-internal-error']),
    row('DynamoDB: 400 ProvisionedThroughputExceeded', faults.aws['dynamodb-throughput-exceeded']),
    row('DynamoDB: 400 ThrottlingException', faults.aws['dynamodb-throttling']),
    row('DynamoDB: 500 InternalServerError', faults.aws['dynamodb-internal-error']),
    row(
      '  of the 500s, answered after being applied',
      faults.awsAppliedBeforeError,
      `of ${list(faults.awsCalls)} calls`,
    ),
    '',
    'Outcomes',
    row('jobs with their records written', check.outcomes.records),
    row('jobs dead-lettered with a reason', check.outcomes['dead-letter'], list(check.deadLetterReasons)),
    row('jobs handed off to a person', check.outcomes['hand-off'], list(check.handoffReasons)),
    row(
      '  of them not planned to fail',
      Object.values(check.unplannedEnds).reduce((a, b) => a + b, 0),
      list(check.unplannedEnds),
    ),
    row('collections in raw storage', check.collections, `${check.manifestsWithoutRecords} without records`),
    row(
      'follow-up jobs asked for by transformed pages',
      check.followUps.expected,
      `records ${check.followUps.records}, hand-off ${check.followUps['hand-off']}, DLQ ${check.followUps['dead-letter']}`,
    ),
    row(
      'change events (distinct)',
      check.changeEvents.distinct,
      `${check.changeEvents.publications} publications, ${check.changeEvents.meaningful} meaningful`,
    ),
    row('records', check.records),
    '',
    'Invariants (each must be 0)',
    ...check.invariants.map((i) =>
      row(i.label, i.count, i.examples.length === 0 ? '' : `e.g. ${i.examples.slice(0, 2).join('; ')}`),
    ),
    '',
    row('drained', report.drained ? 'yes' : 'NO'),
    row(
      'wall time',
      seconds(report.timings.wallTimeMs),
      `start ${seconds(report.timings.startMs)}, send ${seconds(report.timings.sendMs)}, drain ${seconds(report.timings.drainMs)}, check ${seconds(report.timings.checkMs)}`,
    ),
    row('result', check.ok && report.drained ? 'PASS' : 'FAIL'),
  ];
  return lines.join('\n');
}
