import { RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { jobsQueueName, loginSecretName } from '../../functions/core/resource-names.js';
import { maxReceiveCountFor } from '../../functions/core/retry-policy.js';
import { credentialShapeOf, type SourceDefinition, secretDescriptionOf } from '../../sources/define.js';
import { deadLetterAlarmName, type SourceAlarmKind } from '../alarm-catalogue.js';
import { applyTags, OWNER_TAG, sourceOwnerTags } from '../ownership.js';
import { retryBudgetProblem } from '../retry-budget-check.js';
import { alarmTopicOf, type SharedResources } from '../shared-resources.js';
import { type CollectorFunction, FUNCTION_SETTINGS } from './collector-function.js';
import type { WidgetRow } from './dashboard-rows.js';
import { SourceAlarms } from './source-alarms.js';
import { sourceDashboardRow } from './source-dashboard-row.js';
import { WorkQueue } from './work-queue.js';

export interface SourcePipelineProps {
  readonly source: SourceDefinition;
  /** The collector of the source's kind in the source's stack. */
  readonly collector: CollectorFunction;
  readonly shared: SharedResources;
}

/**
 * Everything one source adds to its stack, in one place: its jobs queue and DLQ (named, so
 * upstream systems have a stable URL), the event source mapping that feeds its collector, its
 * login secret, its SLI alarms and its dashboard row. Its construct ID is the source's name, so
 * its logical IDs depend on nothing but that name: adding or removing another source never
 * changes them. A future per-source resource (a schedule, say) belongs here too.
 */
export class SourcePipeline extends Construct {
  readonly source: SourceDefinition;
  readonly jobs: WorkQueue;
  /** The source's login, when it signs in. */
  readonly login: Secret | undefined;
  readonly sourceAlarms: SourceAlarms;
  readonly dashboardRow: WidgetRow;

  constructor(scope: Construct, id: string, props: SourcePipelineProps) {
    super(scope, id);
    const { source, collector, shared } = props;
    const { appName, runbookBaseUrl } = shared;
    this.source = source;

    const owner = source.owners.collection;
    this.jobs = new WorkQueue(this, 'Jobs', {
      queueName: jobsQueueName(appName, source.name),
      purpose: `${source.name} jobs`,
      stage: 'collect',
      source: source.name,
      consumerTimeout: FUNCTION_SETTINGS[source.kind].timeout,
      maxReceiveCount: maxReceiveCountFor(source.retry),
      owner,
      alarmTopic: alarmTopicOf(this, appName, owner),
      deadLetterAlarmName: deadLetterAlarmName(appName, source.name),
      runbookBaseUrl,
    });
    collector.consume(source, this.jobs);

    // A persistent failure must reach an operator within half the source's freshness SLA.
    this.node.addValidation({
      validate: () => {
        const problem = retryBudgetProblem(source, {
          functionTimeoutSeconds: FUNCTION_SETTINGS[source.kind].timeout.toSeconds(),
          visibilityTimeoutSeconds: this.jobs.visibilityTimeout.toSeconds(),
        });
        return problem === undefined ? [] : [problem];
      },
    });

    // Logins and tokens: one secret per source that signs in (a portal, an API with a token, a
    // site with a login form), named after it, so the collector finds it without a list in its
    // environment. Operators put the real value in it after the first deploy
    // (`npx sluice credentials set <source>`); the generated value is only a placeholder.
    const shape = credentialShapeOf(source);
    if (shape !== undefined) {
      const secret = new Secret(this, 'Login', {
        secretName: loginSecretName(appName, source.name),
        description: `Sluice login for ${source.name}: ${secretDescriptionOf(source)}`,
        generateSecretString:
          shape === 'login'
            ? {
                secretStringTemplate: JSON.stringify({ username: 'sluice' }),
                generateStringKey: 'password',
                excludePunctuation: true,
              }
            : { secretStringTemplate: '{}', generateStringKey: 'token', excludePunctuation: true },
        // Kept when the source goes; deleted only when the deploy that created it fails, so its
        // name is free for the next try (CloudFormation deletes secrets without a recovery window).
        removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      });
      Tags.of(secret).add('sluice:role', 'credentials');
      Tags.of(secret).add('sluice:source', source.name);
      collector.readLogin(secret);
      this.login = secret;
    }

    this.sourceAlarms = new SourceAlarms(this, 'Alarms', {
      appName,
      source,
      jobs: this.jobs,
      topicFor: (alarmOwner) => alarmTopicOf(this, appName, alarmOwner),
      runbookBaseUrl,
    });
    // Owners on what a bill or the console shows (queues, login); alarms name whom they page.
    for (const resource of [
      this.jobs.queue,
      this.jobs.deadLetterQueue,
      ...(this.login ? [this.login] : []),
    ]) {
      applyTags(resource, sourceOwnerTags(source));
    }
    Tags.of(this.jobs.deadLetterAlarm).add(OWNER_TAG.pagedOwner, owner);
    Tags.of(this).add('sluice:source', source.name);

    this.dashboardRow = sourceDashboardRow({
      appName,
      source,
      jobs: this.jobs,
      runbookBaseUrl,
      stackName: Stack.of(this).stackName,
    });
  }

  /** Every alarm of the source, by kind. */
  get alarms(): ReadonlyMap<SourceAlarmKind, Alarm> {
    return this.sourceAlarms.alarms;
  }
}
