/**
 * The one place SDK clients are created. Each is made on first use and then reused for the life
 * of the container. Endpoints and credentials come from the standard SDK environment
 * (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...), which is how the local emulator is reached too.
 * Each is captured by the tracer, so every call is an X-Ray subsegment in Lambda (and nothing
 * elsewhere: see `tracer` in observability.ts). The document client shares the middleware of the
 * DynamoDB client it wraps, so capturing that one traces both.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tracer } from '../observability.js';

function once<T>(create: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= create();
    return value;
  };
}

export const s3Client = once(() => tracer.captureAWSv3Client(new S3Client({})));
export const sqsClient = once(() => tracer.captureAWSv3Client(new SQSClient({})));
export const snsClient = once(() => tracer.captureAWSv3Client(new SNSClient({})));
export const secretsClient = once(() => tracer.captureAWSv3Client(new SecretsManagerClient({})));
export const dynamoDocumentClient = once(() =>
  DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient({})), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  }),
);
