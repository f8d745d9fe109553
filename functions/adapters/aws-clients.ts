/**
 * The one place SDK clients are created. Each is made on first use and then reused for the life
 * of the container. Endpoints and credentials come from the standard SDK environment
 * (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...), which is how the local emulator is reached too.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

function once<T>(create: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= create();
    return value;
  };
}

export const s3Client = once(() => new S3Client({}));
export const sqsClient = once(() => new SQSClient({}));
export const snsClient = once(() => new SNSClient({}));
export const secretsClient = once(() => new SecretsManagerClient({}));
export const dynamoDocumentClient = once(() =>
  DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  }),
);
