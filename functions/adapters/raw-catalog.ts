/** Listing raw storage, for replay: keys under a prefix in S3's own order, page by page. */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { RawCatalog } from '../core/ports.js';

export class S3RawCatalog implements RawCatalog {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async *listKeys(prefix: string, startAfter?: string): AsyncIterable<readonly string[]> {
    let continuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          // S3 ignores StartAfter once a continuation token is given.
          ...(continuationToken === undefined
            ? { StartAfter: startAfter }
            : { ContinuationToken: continuationToken }),
        }),
      );
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key]));
      if (keys.length > 0) yield keys;
      continuationToken = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
  }
}
