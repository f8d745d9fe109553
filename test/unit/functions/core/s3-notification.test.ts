import { describe, expect, it } from 'vitest';
import {
  createdObjects,
  createdObjectsIn,
  decodeS3Key,
  S3Notification,
} from '../../../../functions/core/s3-notification.js';

function record(eventName: string, key: string, versionId?: string) {
  return {
    eventName,
    eventTime: '2026-11-27T08:00:02.000Z',
    s3: {
      bucket: { name: 'sluice-raw' },
      object: { key, size: 1234, ...(versionId === undefined ? {} : { versionId }) },
    },
  };
}

describe('decodeS3Key', () => {
  it('turns + into a space', () => {
    expect(decodeS3Key('raw/a+b/manifest.json')).toBe('raw/a b/manifest.json');
  });

  it('decodes %xx escapes', () => {
    expect(decodeS3Key('raw/source%3Ddemo-catalog/dt%3D2026-11-27/manifest.json')).toBe(
      'raw/source=demo-catalog/dt=2026-11-27/manifest.json',
    );
  });

  it('keeps an encoded plus (%2B) as a literal plus, not a space', () => {
    expect(decodeS3Key('raw/a%2Bb+c/manifest.json')).toBe('raw/a+b c/manifest.json');
  });

  it('decodes multi-byte UTF-8 escapes', () => {
    expect(decodeS3Key('raw/caf%C3%A9.json')).toBe('raw/café.json');
  });
});

describe('createdObjects', () => {
  it('lists each created object with its bucket, decoded key and version', () => {
    const notification = S3Notification.parse({
      Records: [record('ObjectCreated:Put', 'raw/source%3Ddemo-catalog/a+b/manifest.json', 'v-1')],
    });

    expect(createdObjects(notification)).toEqual([
      {
        bucket: 'sluice-raw',
        key: 'raw/source=demo-catalog/a b/manifest.json',
        versionId: 'v-1',
        trigger: 'created',
      },
    ]);
  });

  it('leaves versionId undefined for an unversioned object', () => {
    const notification = S3Notification.parse({
      Records: [record('ObjectCreated:Put', 'raw/manifest.json')],
    });

    expect(createdObjects(notification)).toEqual([
      { bucket: 'sluice-raw', key: 'raw/manifest.json', versionId: undefined, trigger: 'created' },
    ]);
  });

  it('returns nothing for the s3:TestEvent sent when notifications are configured', () => {
    const notification = S3Notification.parse({ Event: 's3:TestEvent', Bucket: 'sluice-raw' });

    expect(createdObjects(notification)).toEqual([]);
  });

  it('skips events other than ObjectCreated', () => {
    const notification = S3Notification.parse({
      Records: [
        record('ObjectRemoved:Delete', 'raw/one/manifest.json'),
        record('ObjectCreated:CompleteMultipartUpload', 'raw/two/manifest.json'),
        record('ObjectRestore:Completed', 'raw/three/manifest.json'),
      ],
    });

    expect(createdObjects(notification).map((o) => o.key)).toEqual(['raw/two/manifest.json']);
  });

  it('accepts an event with only the fields Sluice uses', () => {
    const minimal = {
      Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: { key: 'k' } } }],
    };

    expect(S3Notification.safeParse(minimal).success).toBe(true);
  });

  it('rejects an event record without an object key', () => {
    const broken = {
      Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'b' }, object: {} } }],
    };

    expect(S3Notification.safeParse(broken).success).toBe(false);
  });
});

describe('createdObjectsIn', () => {
  it('reads the event moto sends: no identity fields, an eventTime without zone, a +-encoded key', () => {
    // As moto 5.2 builds it (moto/s3/notifications.py, _get_s3_event), serialized into the SQS body.
    const motoBody = JSON.stringify({
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: 'us-east-1',
          eventTime: '2026-11-27T08:00:02.123456',
          eventName: 'ObjectCreated:Put',
          s3: {
            s3SchemaVersion: '1.0',
            configurationId: 'transform',
            bucket: { name: 'sluice-raw', arn: 'arn:aws:s3:::sluice-raw' },
            object: { key: 'raw/source%3Ddemo-catalog/id-job+1/manifest.json', size: 512, eTag: 'abc' },
          },
        },
      ],
    });

    expect(createdObjectsIn(motoBody)).toEqual([
      {
        bucket: 'sluice-raw',
        key: 'raw/source=demo-catalog/id-job 1/manifest.json',
        versionId: undefined,
        trigger: 'created',
      },
    ]);
  });

  it('returns nothing for the s3:TestEvent', () => {
    expect(createdObjectsIn(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' }))).toEqual([]);
  });

  it('refuses a body that is not JSON as message-not-json', () => {
    expect(() => createdObjectsIn('<Event>not json</Event>')).toThrow(
      expect.objectContaining({ name: 'PermanentError', reason: 'message-not-json' }),
    );
  });

  it('refuses JSON that is not an S3 notification as message-invalid, naming the problem', () => {
    expect(() => createdObjectsIn(JSON.stringify({ Records: [{ eventName: 42 }] }))).toThrow(
      expect.objectContaining({ name: 'PermanentError', reason: 'message-invalid' }),
    );
    expect(() => createdObjectsIn('null')).toThrow(expect.objectContaining({ reason: 'message-invalid' }));
  });
});
