import { Aws, Tags } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { alarmTopicName } from '../../functions/core/resource-names.js';
import { OWNER_TAG } from '../ownership.js';

export interface AlarmTopicProps {
  readonly appName: string;
  /** The team this topic notifies; its paging or chat integration subscribes to it. */
  readonly owner: string;
}

/**
 * The SNS topic one owner's alarms notify. A topic policy replaces SNS's default one, so the
 * TLS-only policy that `enforceSSL` writes would leave CloudWatch unable to publish: alarms would
 * change state and page nobody. The policy therefore also allows `cloudwatch.amazonaws.com` to
 * publish, but only for this account's alarms of this app (`aws:SourceAccount`, and
 * `aws:SourceArn` on the `<app>-` alarm names, which every Sluice alarm has), so no other account
 * or service can page through it.
 */
export class AlarmTopic extends Construct {
  readonly topic: Topic;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', {
      topicName: alarmTopicName(props.appName, props.owner),
      displayName: `Sluice alarms for ${props.owner}`,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowThisAppsAlarms',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: {
            'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:${props.appName}-*`,
          },
        },
      }),
    );
    Tags.of(this.topic).add(OWNER_TAG.pagedOwner, props.owner);
    Tags.of(this.topic).add('sluice:role', 'alarms');
  }
}
