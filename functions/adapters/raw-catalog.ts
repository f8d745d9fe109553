/** Listing raw storage, for replay: keys under a prefix in S3's own order, page by page. */
import { paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import type { RawCatalog } from '../core/ports.js';

export class S3RawCatalog implements RawCatalog {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
  ) {}

  async *listKeys(prefix: string, startAfter?: string): AsyncIterable<readonly string[]> {
    // The paginator keeps StartAfter on every page; S3 ignores it once a continuation token is given.
    for await (const page of paginateListObjectsV2(
      { client: this.client },
      { Bucket: this.bucket, Prefix: prefix, StartAfter: startAfter },
    )) {
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key]));
      if (keys.length > 0) yield keys;
    }
  }
}
