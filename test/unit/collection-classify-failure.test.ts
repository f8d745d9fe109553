/**
 * The one classification function: every kind of failure a collector can observe maps to exactly
 * one class (and reason), whether it arrives bare, wrapped in a cause chain, or with evidence.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  BrowserCrashedError,
  classifyFailure,
  evidenceOf,
  FailureWithEvidence,
  HttpStatusError,
  LoginRejectedError,
  NavigationFailedError,
  SelectorMissingError,
  SessionExpiredError,
  StepTimeoutError,
} from '../../functions/core/classify-failure.js';
import type { CollectedArtifact } from '../../functions/core/collection.js';
import { EgressBlockedError } from '../../functions/core/egress.js';
import { failureClassOf, HandoffRequiredError, TransientError } from '../../functions/core/errors.js';

const zodError = z.object({ price: z.number() }).safeParse({ price: 'free' }).error;
const playwrightTimeout = Object.assign(new Error('locator.waitFor: Timeout 3000ms exceeded.'), {
  name: 'TimeoutError',
});
const targetClosed = Object.assign(new Error('Target page, context or browser has been closed'), {
  name: 'TargetClosedError',
});
const withCode = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe('classifyFailure maps each observation to exactly one class', () => {
  it.each([
    ['HTTP 500', new HttpStatusError(500, 'https://x.test/'), 'transient', 'http-500'],
    ['HTTP 502', new HttpStatusError(502, 'https://x.test/'), 'transient', 'http-502'],
    ['HTTP 503', new HttpStatusError(503, 'https://x.test/'), 'transient', 'http-503'],
    ['HTTP 429', new HttpStatusError(429, 'https://x.test/'), 'transient', 'http-429'],
    ['HTTP 408', new HttpStatusError(408, 'https://x.test/'), 'transient', 'http-408'],
    ['HTTP 404', new HttpStatusError(404, 'https://x.test/'), 'permanent', 'http-404'],
    ['HTTP 410', new HttpStatusError(410, 'https://x.test/'), 'permanent', 'http-410'],
    ['HTTP 403', new HttpStatusError(403, 'https://x.test/'), 'permanent', 'http-403'],
    ['HTTP 401', new HttpStatusError(401, 'https://x.test/'), 'permanent', 'http-401'],
    ['a step timeout', new StepTimeoutError('acknowledgement', 4000), 'transient', 'timeout'],
    ['a Playwright timeout', playwrightTimeout, 'transient', 'timeout'],
    ['an AbortSignal timeout', new DOMException('signal timed out', 'TimeoutError'), 'transient', 'timeout'],
    ['ECONNRESET', withCode('ECONNRESET'), 'transient', 'network'],
    ['ENOTFOUND', withCode('ENOTFOUND'), 'transient', 'network'],
    [
      'a Chromium net error',
      new NavigationFailedError('ERR_CONNECTION_RESET', 'https://x.test/'),
      'transient',
      'network',
    ],
    ['a crashed browser', new BrowserCrashedError('gone'), 'transient', 'browser-crash'],
    ['a closed target', targetClosed, 'transient', 'browser-crash'],
    ['an expired session', new SessionExpiredError('login form shown'), 'transient', 'session-expired'],
    [
      'a selector that never appeared',
      new SelectorMissingError('main[data-ready]', 'https://x.test/'),
      'permanent',
      'selector-missing',
    ],
    ['a validation error', zodError, 'permanent', 'validation'],
    ['refused credentials', new LoginRejectedError('refused'), 'permanent', 'login-rejected'],
    [
      'an egress refusal',
      new EgressBlockedError('egress blocked: x', { reason: 'egress-blocked' }),
      'permanent',
      'egress-blocked',
    ],
    ['a captcha', new HandoffRequiredError('captcha', { reason: 'captcha' }), 'needs-human', 'captcha'],
    ['an unknown error', new RangeError('odd'), 'transient', 'unexpected'],
  ])('%s → %s (%s)', (_, error, expectedClass, reason) => {
    const classified = classifyFailure(error);

    expect(failureClassOf(classified)).toBe(expectedClass);
    expect(classified.reason).toBe(reason);
  });

  it('keeps the Retry-After a 429 carried', () => {
    const classified = classifyFailure(new HttpStatusError(429, 'https://x.test/', 120));

    expect(classified).toBeInstanceOf(TransientError);
    expect(classified).toMatchObject({ retryAfterSeconds: 120 });
  });

  it('names the URL and the status of an HTTP failure', () => {
    expect(classifyFailure(new HttpStatusError(404, 'https://x.test/a')).message).toBe(
      'https://x.test/a answered 404',
    );
  });

  it('finds an egress refusal inside fetch’s TypeError, so a refused connection is permanent', () => {
    const refusal = new EgressBlockedError('egress blocked: x.test:80 resolves to 127.0.0.1', {
      reason: 'egress-blocked',
    });

    const classified = classifyFailure(new TypeError('fetch failed', { cause: refusal }));

    expect(classified).toBe(refusal);
  });

  it('classifies what a failure with evidence wraps, and hands the evidence out', () => {
    const evidence: CollectedArtifact[] = [
      {
        name: 'failure-rendered.html',
        role: 'failure-dom',
        contentType: 'text/html',
        body: Buffer.from('<p>x</p>'),
      },
    ];
    const failure = new FailureWithEvidence(new SelectorMissingError('#ready', 'https://x.test/'), evidence);

    expect(classifyFailure(failure).reason).toBe('selector-missing');
    expect(evidenceOf(failure)).toBe(evidence);
    expect(evidenceOf(new Error('plain'))).toEqual([]);
  });

  it('treats an unknown error inside a failure with evidence as transient, with its own text', () => {
    const classified = classifyFailure(new FailureWithEvidence(new Error('kaboom'), []));

    expect(classified.reason).toBe('unexpected');
    expect(classified.message).toContain('kaboom');
  });
});
