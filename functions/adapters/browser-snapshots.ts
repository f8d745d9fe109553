/**
 * What a browser job stores of a page — its rendered DOM, a screenshot, the response body, its
 * console report — with no secret in any of them. A job that holds a secret (a portal's password)
 * has every shape of it replaced in the page's DOM before the page is captured, the elements that
 * held one (and every password field) masked in the screenshot, and the serialized text redacted
 * again. A failure is captured as far as the page still allows.
 */
import type { Locator, Page } from 'playwright-core';
import type { CollectedArtifact } from '../core/collection.js';
import { REDACTED, redactSecrets, secretShapes } from '../core/secret-redaction.js';

export { redactBody } from '../core/secret-redaction.js';

import { withTimeout } from './browser-steps.js';

/** Marks an element that showed a secret, so the screenshot masks it. */
const REDACTED_ATTRIBUTE = 'data-sluice-redacted';

/**
 * Runs inside the page (self-contained: Playwright sends its source): replaces every shape of a
 * secret in text, comments, attributes and field values, in the document and its open shadow
 * roots, and marks each element that held one.
 */
function redactDocument(args: { shapes: readonly string[]; marker: string; attribute: string }): number {
  const { shapes, marker, attribute } = args;
  const redact = (text: string) => shapes.reduce((out, shape) => out.split(shape).join(marker), text);
  let redacted = 0;
  const roots: (Document | ShadowRoot)[] = [document];
  for (let root = roots.pop(); root !== undefined; root = roots.pop()) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_COMMENT);
    for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
      const text = node.nodeValue ?? '';
      const clean = redact(text);
      if (clean === text) continue;
      node.nodeValue = clean;
      node.parentElement?.setAttribute(attribute, '');
      redacted += 1;
    }
    for (const element of Array.from(root.querySelectorAll('*'))) {
      if (element.shadowRoot !== null) roots.push(element.shadowRoot);
      for (const { name, value } of Array.from(element.attributes)) {
        const clean = redact(value);
        if (clean === value) continue;
        element.setAttribute(name, clean);
        element.setAttribute(attribute, '');
        redacted += 1;
      }
      if (element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement) {
        const clean = element.type === 'password' ? '' : redact(element.value);
        if (clean === element.value) continue;
        element.value = clean;
        element.setAttribute(attribute, '');
        redacted += 1;
      }
    }
  }
  return redacted;
}

/**
 * Before a page is captured: every shape of a secret it shows (text, attributes, field values,
 * in every frame) is replaced in its DOM, and the elements that held one — with every password
 * field — are answered as the screenshot's mask. Nothing to do for a job without secrets.
 */
export async function redactPage(
  page: Page,
  secrets: readonly string[],
  timeoutMs: number,
): Promise<Locator[]> {
  if (secrets.length === 0) return [];
  const shapes = [...new Set(secrets.flatMap(secretShapes))].sort((a, b) => b.length - a.length);
  await withTimeout(
    Promise.all(
      page
        .frames()
        .map((frame) =>
          frame.evaluate(redactDocument, { shapes, marker: REDACTED, attribute: REDACTED_ATTRIBUTE }),
        ),
    ),
    timeoutMs,
    'redacting the page',
  );
  return [page.locator(`[${REDACTED_ATTRIBUTE}]`), page.locator('input[type="password"]')];
}

/** The page's rendered DOM as text, redacted. */
export async function renderedDom(
  page: Page,
  secrets: readonly string[],
  timeoutMs: number,
  what: string,
): Promise<Buffer> {
  return Buffer.from(redactSecrets(await withTimeout(page.content(), timeoutMs, what), secrets), 'utf8');
}

/** A job's console report (what its pages logged and were refused, and `extra`), redacted. */
export function consoleReport(
  record: { readonly [key: string]: unknown },
  secrets: readonly string[],
): Buffer {
  // A page can log what it was sent, or put it in a URL it then asks for.
  return Buffer.from(redactSecrets(JSON.stringify(record, null, 2), secrets));
}

/**
 * The largest screenshot a job takes, in CSS pixels. A page that renders wider or taller (one
 * 2 MiB line of text is millions of pixels wide) is photographed from its top-left corner up to
 * this size: a full photograph of it would outgrow the function's memory and time, and fail the
 * job over its evidence. 16,384 is Chromium's largest texture side.
 */
export const SCREENSHOT_LIMIT = { width: 4_096, height: 16_384 } as const;

/** Playwright trims a full-page screenshot's clip to the page, so small pages stay as they are. */
const SCREENSHOT = { fullPage: true, type: 'png', clip: { x: 0, y: 0, ...SCREENSHOT_LIMIT } } as const;

/** The rendered DOM and a screenshot of a page a job collected, with no secret in either. */
export async function capturePage(
  page: Page,
  secrets: readonly string[],
  timeoutMs: number,
): Promise<{ readonly rendered: Buffer; readonly screenshot: Buffer }> {
  const mask = await redactPage(page, secrets, timeoutMs);
  const rendered = await renderedDom(page, secrets, timeoutMs, 'snapshot');
  const screenshot = await page.screenshot({ ...SCREENSHOT, timeout: timeoutMs, mask });
  return { rendered, screenshot };
}

/** Whatever can still be captured of a page a job failed on: its rendered DOM and a screenshot. */
export async function captureFailedPage(
  page: Page,
  secrets: readonly string[],
  timeoutMs: number,
): Promise<CollectedArtifact[]> {
  const evidence: CollectedArtifact[] = [];
  const mask = await redactPage(page, secrets, timeoutMs).catch(() => undefined);
  await renderedDom(page, secrets, timeoutMs, 'failure snapshot')
    .then((body) =>
      evidence.push({
        name: 'failure-rendered.html',
        role: 'failure-dom',
        contentType: 'text/html; charset=utf-8',
        body,
      }),
    )
    .catch(() => undefined);
  // A page that may show a secret and could not be redacted is not photographed.
  if (mask !== undefined) {
    await page
      .screenshot({ ...SCREENSHOT, timeout: timeoutMs, mask })
      .then((png) =>
        evidence.push({
          name: 'failure-screenshot.png',
          role: 'screenshot',
          contentType: 'image/png',
          body: png,
        }),
      )
      .catch(() => undefined);
  }
  return evidence;
}
