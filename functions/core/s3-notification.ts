/**
 * S3 event notifications as they arrive in the transform queue. Only the fields Sluice uses are
 * required, so the same schema accepts AWS's events and the local emulator's.
 */
import { z } from 'zod';

const S3EventRecord = z.object({
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

/** S3 URL-encodes keys in events, with `+` for spaces. */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

export interface CreatedObject {
  readonly bucket: string;
  readonly key: string;
  readonly versionId: string | undefined;
}

/** The objects an S3 notification announces as created; empty for test events. */
export function createdObjects(notification: S3Notification): CreatedObject[] {
  if (!('Records' in notification)) return [];
  return notification.Records.filter((r) => r.eventName.startsWith('ObjectCreated:')).map((r) => ({
    bucket: r.s3.bucket.name,
    key: decodeS3Key(r.s3.object.key),
    versionId: r.s3.object.versionId,
  }));
}
