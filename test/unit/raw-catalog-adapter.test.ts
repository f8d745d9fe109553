/** The S3 adapter of RawCatalog, against a mocked S3 client: pages in S3's order, resuming after a key. */
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3RawCatalog } from '../../functions/adapters/raw-catalog.js';

const s3 = mockClient(S3Client);

beforeEach(() => {
  s3.reset();
});

async function pagesOf(catalog: S3RawCatalog, prefix: string, startAfter?: string): Promise<string[][]> {
  const pages: string[][] = [];
  for await (const page of catalog.listKeys(prefix, startAfter)) pages.push([...page]);
  return pages;
}

describe('S3RawCatalog', () => {
  it('lists every page of a prefix, following the continuation token to the last page', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [{ Key: 'raw/a/1' }, { Key: 'raw/a/2' }],
        IsTruncated: true,
        NextContinuationToken: 'page-2',
      })
      .resolvesOnce({ Contents: [{ Key: 'raw/a/3' }], IsTruncated: false });
    const catalog = new S3RawCatalog(new S3Client({ region: 'us-east-1' }), 'raw-bucket');

    const pages = await pagesOf(catalog, 'raw/a/', 'raw/a/0');

    expect(pages).toEqual([['raw/a/1', 'raw/a/2'], ['raw/a/3']]);
    expect(s3.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input)).toEqual([
      expect.objectContaining({ Bucket: 'raw-bucket', Prefix: 'raw/a/', StartAfter: 'raw/a/0' }),
      expect.objectContaining({ Prefix: 'raw/a/', ContinuationToken: 'page-2' }),
    ]);
  });

  it('yields nothing for an empty prefix', async () => {
    s3.on(ListObjectsV2Command).resolves({ KeyCount: 0, IsTruncated: false });
    const catalog = new S3RawCatalog(new S3Client({ region: 'us-east-1' }), 'raw-bucket');

    expect(await pagesOf(catalog, 'raw/none/')).toEqual([]);
  });
});
