/**
 * Screening a fetched page for what means "not the page the job asked for" before it is stored
 * as a collection: the source's hand-off signs (a captcha, by default), as the browser collector
 * watches for them while a page renders. Over HTTP a captcha answers 200 with an HTML body; stored
 * as a success, the transform would find no records in it and hand the job off as `no-records`,
 * hiding the real cause. Screening is not parsing business data (DESIGN.md decision 1): it looks
 * only for the signs a source declares, in any HTML answer, whatever content type the job expects.
 *
 * Pure: the body, its content type and the declared signs in, a verdict out. Further screens (a
 * login wall over HTTP) join here as verdicts of their own.
 */
import { load } from 'cheerio/slim';
import type { HandoffSign } from '../../sources/define.js';

export interface ScreenedResponse {
  readonly body: Buffer;
  readonly contentType: string | undefined;
}

export interface ScreenRules {
  /** The source's hand-off signs: CSS selectors whose presence stops the job for a person. */
  readonly handoffSigns: readonly HandoffSign[];
}

export type ScreenVerdict =
  | { readonly kind: 'clear' }
  /** The page shows a sign a person must act on: hand the job off with the sign's reason. */
  | { readonly kind: 'hand-off'; readonly sign: HandoffSign };

const HTML = /^\s*(text\/html|application\/xhtml\+xml)\b/i;

/** Whether a response is an HTML page, the only kind CSS selectors can be looked for in. */
export function isHtml(contentType: string | undefined): boolean {
  return contentType !== undefined && HTML.test(contentType);
}

export function screenResponse(response: ScreenedResponse, rules: ScreenRules): ScreenVerdict {
  if (rules.handoffSigns.length === 0 || !isHtml(response.contentType)) return { kind: 'clear' };
  const page = load(response.body.toString('utf8'));
  const sign = rules.handoffSigns.find((s) => page(s.selector).length > 0);
  return sign === undefined ? { kind: 'clear' } : { kind: 'hand-off', sign };
}
