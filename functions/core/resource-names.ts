/**
 * The physical names Sluice gives the resources that functions, the CLI and dashboards must find
 * without configuration per source. Everything follows from the app's name (one deployment of
 * Sluice; context `sluice:appName`, default `Sluice`) and the source's name:
 *
 *   jobs queue        <app>-<source>-jobs            (what upstream systems send to; a stable URL)
 *   its DLQ           <app>-<source>-jobs-dlq        (every work queue's DLQ: <queue>-dlq)
 *   transform queue   <app>-transform, <app>-transform-dlq
 *   login secret      <app>/<source>/login
 *   alarm topic       <app>-alarms-<owner>
 *   schedule          <app>-<source>                 (EventBridge Scheduler, default group)
 *   change feed bus   <app>-records, its log /sluice/<app>/record-changes
 *   alarms            <app>-<subject>-<kind>          (infra/alarm-catalogue.ts)
 *
 * So a collector learns a message's source from the queue it came from (the event's
 * `eventSourceARN`) and its DLQ from the queue's name; its environment holds nothing per source,
 * and its size stays the same whatever the number of sources. Pure: no AWS here.
 */

export const DEFAULT_APP_NAME = 'Sluice';

/**
 * Letters and digits only: the name starts every stack, queue, alarm, topic and dashboard name,
 * and no app name may be a prefix of another's `<app>-` (the alarm topics' policies scope
 * CloudWatch to `alarm:<app>-*`). 20 characters keep the longest queue name within SQS's 80.
 */
export const APP_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9]{0,19}$/;

export function assertAppName(name: string): string {
  if (!APP_NAME_PATTERN.test(name)) {
    throw new Error(
      `the app name must be a letter followed by at most 19 letters or digits (it starts every resource name), got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

const JOBS_SUFFIX = '-jobs';
const DEAD_LETTER_SUFFIX = '-dlq';

/** The queue upstream systems send a source's jobs to. */
export function jobsQueueName(app: string, source: string): string {
  return `${app}-${source}${JOBS_SUFFIX}`;
}

export function transformQueueName(app: string): string {
  return `${app}-transform`;
}

/** Every work queue's dead-letter queue is named after it. */
export function deadLetterQueueName(queueName: string): string {
  return `${queueName}${DEAD_LETTER_SUFFIX}`;
}

/** The last part of an SQS ARN (`arn:aws:sqs:<region>:<account>:<name>`). */
export function queueNameOfArn(arn: string): string {
  const parts = arn.split(':');
  const name = parts[5];
  if (parts.length !== 6 || parts[2] !== 'sqs' || name === undefined || name === '') {
    throw new Error(`not an SQS queue ARN: ${JSON.stringify(arn)}`);
  }
  return name;
}

/** The account that owns a queue, from its ARN. */
export function queueAccountOfArn(arn: string): string {
  queueNameOfArn(arn);
  return arn.split(':')[4] ?? '';
}

/** The source whose jobs queue this is, or undefined for any other queue (the transform's, a DLQ). */
export function sourceOfQueueName(app: string, queueName: string): string | undefined {
  const prefix = `${app}-`;
  if (!queueName.startsWith(prefix) || !queueName.endsWith(JOBS_SUFFIX)) return undefined;
  const source = queueName.slice(prefix.length, -JOBS_SUFFIX.length);
  return source === '' ? undefined : source;
}

/** The Secrets Manager secret holding a source's login (JSON `{"username", "password"}`). */
export function loginSecretName(app: string, source: string): string {
  return `${app}/${source}/login`;
}

/** The SNS topic an owner's alarms notify. */
export function alarmTopicName(app: string, owner: string): string {
  return `${app}-alarms-${owner}`;
}

/** A source's EventBridge Scheduler schedule (at most 64 characters: 20 + 1 + 41 fit). */
export function scheduleName(app: string, source: string): string {
  return `${app}-${source}`;
}

/** The change feed's event bus: RecordChanged events of every source. */
export function changeBusName(app: string): string {
  return `${app}-records`;
}

/** The log group every RecordChanged event is copied into (`sluice changes` reads it). */
export function changeLogGroupName(app: string): string {
  return `/sluice/${app}/record-changes`;
}
