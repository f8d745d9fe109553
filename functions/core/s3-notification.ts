/**
 * S3 event notifications as they arrive in the transform queue. Only the fields Sluice uses are
 * required, so the same schema accepts AWS's events, the local emulator's, and replay's.
 *
 * The body is read with Powertools' JSONStringified, as Powertools composes its own S3-in-SQS
 * schema. Its S3 record schema itself does not fit: it requires what moto never sends
 * (userIdentity, requestParameters, responseElements, the bucket's ownerIdentity, a zoned
 * eventTime), `eventSource: 'aws:s3'` (replay's messages say `sluice:replay`), and at least one
 * record (S3's `s3:TestEvent` has none).
 */
import { JSONStringified } from '@aws-lambda-powertools/parser/helpers';
import { z } from 'zod';
import { PermanentError } from './errors.js';

/** `eventSource` of the notifications replay sends; S3's own say `aws:s3`. */
export const REPLAY_EVENT_SOURCE = 'sluice:replay';

const S3EventRecord = z.object({
  eventSource: z.string().optional(),
  eventName: z.string(),
  eventTime: z.string().optional(),
  s3: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({
      key: z.string().min(1),
      size: z.number().optional(),
      versionId: z.string().optional(),
      sequencer: z.string().optional(),
    }),
  }),
});

/** The test message S3 sends when a notification configuration is saved. */
const S3TestEvent = z.object({ Event: z.literal('s3:TestEvent'), Bucket: z.string().optional() });

export const S3Notification = z.union([z.object({ Records: z.array(S3EventRecord) }), S3TestEvent]);
export type S3Notification = z.infer<typeof S3Notification>;

/** A transform queue message's body: an S3 notification as a JSON string. */
export const S3NotificationBody = JSONStringified(S3Notification);

/** S3 URL-encodes keys in events, with `+` for spaces. Throws URIError on a malformed escape. */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

/** The inverse of `decodeS3Key`, encoding a key the way S3 does in its events. */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+');
}

export interface CreatedObject {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string | undefined;
  /** Why the object is being transformed: it was just written, or replay sent it again. */
  readonly trigger: 'created' | 'replay';
}

/**
 * The objects an S3 notification announces as created; empty for test events. A key that is not
 * URL-encoded as S3 encodes keys is a permanent error: no retry will decode it.
 */
export function createdObjects(notification: S3Notification): CreatedObject[] {
  if (!('Records' in notification)) return [];
  return notification.Records.filter((r) => r.eventName.startsWith('ObjectCreated:')).map((r) => {
    let key: string;
    try {
      key = decodeS3Key(r.s3.object.key);
    } catch (cause) {
      throw new PermanentError(`object key ${r.s3.object.key} is not URL-encoded as S3 encodes event keys`, {
        reason: 'message-invalid',
        cause,
      });
    }
    return {
      bucket: r.s3.bucket.name,
      key,
      versionId: r.s3.object.versionId,
      trigger: r.eventSource === REPLAY_EVENT_SOURCE ? 'replay' : 'created',
    };
  });
}

/**
 * The objects a transform queue message announces as created, or a PermanentError saying why the
 * message cannot be read: no retry turns a body that is not an S3 notification into one.
 */
export function createdObjectsIn(body: string): CreatedObject[] {
  const parsed = S3NotificationBody.safeParse(body);
  if (!parsed.success) {
    // S3Notification has no custom checks: a custom issue at the root is JSONStringified's JSON.parse.
    if (parsed.error.issues.some((issue) => issue.code === 'custom' && issue.path.length === 0)) {
      throw new PermanentError('transform message is not JSON', {
        reason: 'message-not-json',
        cause: parsed.error,
      });
    }
    throw new PermanentError(`transform message is not an S3 notification: ${parsed.error.message}`, {
      reason: 'message-invalid',
      cause: parsed.error,
    });
  }
  return createdObjects(parsed.data);
}

/**
 * The message replay sends for one manifest: shaped like S3's own notification, so the transform
 * treats a replayed manifest exactly like a new one.
 */
export function replayNotification(bucket: string, key: string, at: Date): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: REPLAY_EVENT_SOURCE,
        eventTime: at.toISOString(),
        eventName: 'ObjectCreated:Replay',
        s3: { s3SchemaVersion: '1.0', bucket: { name: bucket }, object: { key: encodeS3Key(key) } },
      },
    ],
  });
}
