/**
 * A browser source whose artifact is a download (an export behind a login, a report button):
 * the file the page hands over is captured as the raw artifact, with its content type and name.
 * Only a source that declares `download` in its plan gets a context that accepts downloads; for
 * every other source they stay blocked (browser-traffic.ts). The file comes through the job's
 * egress proxy like any response, so it counts against the job's byte limit; a file cut off at
 * the limit is body-too-large, never a partial artifact.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Download, Page } from 'playwright-core';
import type { BrowserDownload } from '../../sources/define.js';
import { NavigationFailedError, SelectorMissingError, StepTimeoutError } from '../core/classify-failure.js';
import type { CollectedArtifact } from '../core/collection.js';
import { assertUrlAllowed, type EgressPolicy } from '../core/egress.js';
import { PermanentError } from '../core/errors.js';

/** Content types by file extension, for a download whose response was not seen. */
const TYPES_BY_EXTENSION: { readonly [extension: string]: string } = {
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  txt: 'text/plain',
  json: 'application/json',
  xml: 'application/xml',
  html: 'text/html',
  pdf: 'application/pdf',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  xls: 'application/vnd.ms-excel',
  zip: 'application/zip',
};

/** Names an artifact may not take: the job's own snapshots. */
const RESERVED = new Set([
  'rendered.html',
  'screenshot.png',
  'console.json',
  'response.html',
  'manifest.json',
]);

/**
 * The artifact name for a download's suggested file name: lowercase letters, digits, dots,
 * dashes and underscores (what raw keys allow), its extension kept.
 */
export function downloadArtifactName(suggested: string): string {
  const cleaned = suggested
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(-100);
  const name = cleaned === '' || !/[a-z0-9]/.test(cleaned) ? 'download.bin' : cleaned;
  return RESERVED.has(name) ? `download-${name}` : name;
}

export function contentTypeOfDownload(name: string, seen: string | undefined): string {
  // A server that labels a CSV export `application/octet-stream` is common; the name then says more.
  if (seen !== undefined && !/^application\/octet-stream\b/i.test(seen)) return seen;
  const extension = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase() ?? '';
  return TYPES_BY_EXTENSION[extension] ?? seen ?? 'application/octet-stream';
}

export interface DownloadSetting {
  readonly origin: string;
  readonly policy: EgressPolicy;
  readonly stepTimeoutMs: number;
  readonly navigationTimeoutMs: number;
  readonly maxBytes: number;
  /** Content types of the responses the job's pages received, by URL. */
  readonly contentTypeOf: (url: string) => string | undefined;
  /** Throws body-too-large when the job's responses crossed its limit. */
  readonly assertWithinLimit: () => void;
}

export interface CapturedDownload {
  readonly artifact: CollectedArtifact;
  readonly url: string;
  readonly suggestedName: string;
}

/** Starts the download the plan names (a click, or an export URL) and captures the file. */
export async function captureDownload(
  page: Page,
  plan: BrowserDownload,
  setting: DownloadSetting,
): Promise<CapturedDownload> {
  const started = page.waitForEvent('download', { timeout: setting.stepTimeoutMs });
  started.catch(() => undefined);
  if (plan.click !== undefined) {
    try {
      await page.click(plan.click, { timeout: setting.stepTimeoutMs });
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError')
        throw new SelectorMissingError(plan.click, page.url(), { cause: error });
      throw error;
    }
  } else {
    const url = assertUrlAllowed(new URL(plan.url, setting.origin), setting.policy);
    // Playwright rejects a navigation that turns into a download; the download event is the answer.
    await page.goto(url.href, { timeout: setting.navigationTimeoutMs }).catch((error: unknown) => {
      if (!(error instanceof Error && error.message.includes('Download is starting'))) throw error;
    });
  }
  let download: Download;
  try {
    download = await started;
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError')
      throw new StepTimeoutError('download', setting.stepTimeoutMs, { cause: error });
    throw error;
  }
  // Waits until the file is complete; a download the proxy cut at the job's limit has failed.
  const failure = await download.failure();
  setting.assertWithinLimit();
  if (failure !== null) {
    // Cut off mid-way (the limit is checked above): network trouble, retried like any.
    throw new NavigationFailedError(`ERR_DOWNLOAD_FAILED (${failure})`, download.url().slice(0, 200));
  }
  const path = await download.path();
  const { size } = await stat(path);
  if (size > setting.maxBytes) {
    throw new PermanentError(`the download of ${size} bytes exceeds the ${setting.maxBytes}-byte limit`, {
      reason: 'body-too-large',
    });
  }
  const suggestedName = download.suggestedFilename();
  const name = downloadArtifactName(suggestedName);
  return {
    artifact: {
      name,
      role: 'body',
      contentType: contentTypeOfDownload(suggestedName, setting.contentTypeOf(download.url())),
      body: await readFile(path),
    },
    url: download.url(),
    suggestedName,
  };
}
