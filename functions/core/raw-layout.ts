/**
 * Where raw data lives: Hive-style partitions so Athena can read the bucket directly.
 *   raw/source=<source>/dt=<yyyy-mm-dd>/<jobKey>/<fetchId>/<artifact>
 */
import { randomBytes } from 'node:crypto';

export const RAW_PREFIX = 'raw/';
export const MANIFEST_NAME = 'manifest.json';

/** Where every raw object of one source lives: `raw/source=<source>/`. */
export function sourcePrefix(source: string): string {
  return `${RAW_PREFIX}source=${source}/`;
}

export function fetchPrefix(source: string, observedAt: Date, jobKey: string, fetchId: string): string {
  return `${jobDayPrefix(source, observedAt, jobKey)}${fetchId}/`;
}

/** Everything one job stored on one (UTC) day: `raw/source=<s>/dt=<day>/<jobKey>/`. */
export function jobDayPrefix(source: string, day: Date, jobKey: string): string {
  return `${sourcePrefix(source)}dt=${day.toISOString().slice(0, 10)}/${jobKey}/`;
}

/** When a fetch ID from `newFetchId` was made; undefined for any other shape. */
export function fetchIdTime(fetchId: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-/.exec(fetchId);
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second, ms] = match;
  const at = new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}.${ms}Z`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/**
 * A fetch ID sorts by time and breaks ties between observations at the same millisecond:
 * `20261127T085312123Z-9f8e7d6c`.
 */
export function newFetchId(at: Date, random: () => string = () => randomBytes(4).toString('hex')): string {
  return `${at.toISOString().replace(/[-:.]/g, '')}-${random()}`;
}

export interface ParsedRawKey {
  readonly source: string;
  readonly day: string;
  readonly jobKey: string;
  readonly fetchId: string;
  readonly name: string;
}

export function parseRawKey(key: string): ParsedRawKey | undefined {
  const match = /^raw\/source=([a-z][a-z0-9-]*)\/dt=(\d{4}-\d{2}-\d{2})\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(
    key,
  );
  if (match === null) return undefined;
  const [, source = '', day = '', jobKey = '', fetchId = '', name = ''] = match;
  return { source, day, jobKey, fetchId, name };
}

const EXTENSIONS: readonly [RegExp, string][] = [
  [/^text\/html\b/, 'html'],
  [/^application\/(?:[\w.+-]+\+)?json\b/, 'json'],
  [/^text\/csv\b/, 'csv'],
  [/^text\/plain\b/, 'txt'],
  [/^image\/png\b/, 'png'],
  [/^application\/(?:[\w.+-]+\+)?xml\b|^text\/xml\b/, 'xml'],
];

/** A file extension for a content type, so raw objects open in the right tool. */
export function extensionFor(contentType: string | undefined): string {
  const type = (contentType ?? '').toLowerCase();
  return EXTENSIONS.find(([pattern]) => pattern.test(type))?.[1] ?? 'bin';
}
