/**
 * A login wall where data was expected: the answer to a collection is the source's sign-in page
 * (it redirected there, or it asks for a password) instead of its data. Stored as a success, the
 * wall would reach the transform as data and be handed off as a parse failure that hides the real
 * cause; so the collector checks every answer here first. Pure: the HTTP collector has the one
 * call site (functions/adapters/http-collector.ts).
 */

/** What the collector saw of a successful answer. */
export interface AnswerSeen {
  /** The URL that answered (after redirects). */
  readonly url: URL;
  readonly contentType: string;
  /** The start of the body, as text (a sign-in form is near the top of any page). */
  readonly bodyStart: string;
}

/** How much of a body is read for a login wall. */
export const LOGIN_WALL_SCAN_BYTES = 64 * 1024;

/** A password field in markup: `<input ... type="password" ...>`, any quoting and case. */
const PASSWORD_FIELD = /<input\b[^>]*\btype\s*=\s*["']?password\b/i;

/** Whether `url` is the source's login page (`loginPagePath`, query ignored). */
export function isLoginPage(url: URL, loginPagePath: string | undefined): boolean {
  if (loginPagePath === undefined) return false;
  const wanted = new URL(loginPagePath, url).pathname.replace(/\/+$/, '');
  return url.pathname.replace(/\/+$/, '') === wanted;
}

/**
 * Why the answer is a login wall, or undefined when it is not: it is the source's own login page,
 * or an HTML page with a password field (data pages never ask for one).
 */
export function loginWallOf(answer: AnswerSeen, loginPagePath?: string): string | undefined {
  if (isLoginPage(answer.url, loginPagePath)) {
    return `${answer.url.href} is the source's login page, not its data`;
  }
  const html = /\bhtml\b/i.test(answer.contentType);
  if (html && PASSWORD_FIELD.test(answer.bodyStart)) {
    return `${answer.url.href} answered with a page that asks for a password, not the data`;
  }
  return undefined;
}
