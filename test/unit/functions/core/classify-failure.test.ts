import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  classifyFailure,
  classifyHttpStatus,
  parseRetryAfter,
} from '../../../../functions/core/classify-failure.js';
import { HandoffRequiredError, PermanentError, TransientError } from '../../../../functions/core/errors.js';

const NOW = new Date('2026-11-27T08:00:00.000Z');

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120);
  });

  it('ignores whitespace around delta-seconds', () => {
    expect(parseRetryAfter(' 30 ', NOW)).toBe(30);
  });

  it('turns an HTTP date into the seconds left until it', () => {
    expect(parseRetryAfter('Fri, 27 Nov 2026 08:02:00 GMT', NOW)).toBe(120);
  });

  it('rounds a date a fraction of a second away up to a whole second', () => {
    const now = new Date('2026-11-27T08:01:59.500Z');

    expect(parseRetryAfter('Fri, 27 Nov 2026 08:02:00 GMT', now)).toBe(1);
  });

  it('answers 0 for an HTTP date already past', () => {
    expect(parseRetryAfter('Fri, 27 Nov 2026 07:00:00 GMT', NOW)).toBe(0);
  });

  it.each([null, undefined, '', '   '])('answers undefined when the header is %j', (header) => {
    expect(parseRetryAfter(header, NOW)).toBeUndefined();
  });

  it.each(['soon', 'in 5 minutes', '12 monkeys'])('answers undefined for the garbage value %j', (header) => {
    expect(parseRetryAfter(header, NOW)).toBeUndefined();
  });
});

describe('classifyHttpStatus', () => {
  it.each([404, 410])('dead-letters at once when the source answers %i', (status) => {
    const error = classifyHttpStatus(status);

    expect(error).toBeInstanceOf(PermanentError);
    expect(error.reason).toBe(`http-${status}`);
  });

  it.each([408, 429, 500, 502, 503, 504])('retries when the source answers %i', (status) => {
    const error = classifyHttpStatus(status);

    expect(error).toBeInstanceOf(TransientError);
    expect(error.reason).toBe(`http-${status}`);
  });

  it('carries the Retry-After the source sent with a 429', () => {
    const error = classifyHttpStatus(429, 90);

    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ retryAfterSeconds: 90 });
  });

  it('leaves retryAfterSeconds undefined when the source sent none', () => {
    expect(classifyHttpStatus(503)).toMatchObject({ retryAfterSeconds: undefined });
  });

  it.each([400, 401, 403])('treats the client error %i as permanent', (status) => {
    expect(classifyHttpStatus(status)).toBeInstanceOf(PermanentError);
  });
});

describe('classifyFailure', () => {
  it.each([
    new TransientError('busy', { reason: 'http-503' }),
    new PermanentError('gone', { reason: 'http-410' }),
    new HandoffRequiredError('captcha', { reason: 'captcha' }),
  ])('passes an already classified $name through unchanged', (error) => {
    expect(classifyFailure(error)).toBe(error);
  });

  it('makes a validation error permanent and names the failing paths', () => {
    const zodError = z.object({ page: z.number() }).safeParse({ page: 'one' }).error;

    const classified = classifyFailure(zodError);

    expect(classified).toBeInstanceOf(PermanentError);
    expect(classified.reason).toBe('validation');
    expect(classified.message).toContain('page:');
  });

  it('makes a TimeoutError transient', () => {
    const classified = classifyFailure(new DOMException('signal timed out', 'TimeoutError'));

    expect(classified).toBeInstanceOf(TransientError);
    expect(classified.reason).toBe('timeout');
  });

  it('makes an AbortError transient', () => {
    const classified = classifyFailure(new DOMException('This operation was aborted', 'AbortError'));

    expect(classified).toBeInstanceOf(TransientError);
    expect(classified.reason).toBe('timeout');
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT'])(
    'makes the network error %s transient',
    (code) => {
      const classified = classifyFailure(withCode(`connect ${code}`, code));

      expect(classified).toBeInstanceOf(TransientError);
      expect(classified.reason).toBe('network');
    },
  );

  it("finds a network code in the error's cause, as fetch reports it", () => {
    const error = new TypeError('fetch failed', { cause: withCode('connect ECONNREFUSED', 'ECONNREFUSED') });

    const classified = classifyFailure(error);

    expect(classified).toBeInstanceOf(TransientError);
    expect(classified.reason).toBe('network');
  });

  it('keeps the original error as the cause', () => {
    const error = withCode('socket hang up', 'ECONNRESET');

    expect(classifyFailure(error).cause).toBe(error);
  });

  it('makes a crashed browser transient', () => {
    const error = Object.assign(new Error('Target page, context or browser has been closed'), {
      name: 'TargetClosedError',
    });

    expect(classifyFailure(error)).toMatchObject({ name: 'TransientError', reason: 'browser-crash' });
  });

  it('makes a failed AWS SDK call transient', () => {
    const error = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400, requestId: 'r-1', attempts: 3 },
    });

    const classified = classifyFailure(error);

    expect(classified).toBeInstanceOf(TransientError);
    expect(classified.reason).toBe('aws-error');
    expect(classified.message).toContain('ThrottlingException');
  });

  it('treats an unknown error as transient, so the retry budget bounds it', () => {
    const classified = classifyFailure(new RangeError('something odd'));

    expect(classified).toBeInstanceOf(TransientError);
    expect(classified.reason).toBe('unexpected');
    expect(classified.message).toContain('something odd');
  });

  it('treats a thrown non-error as transient and keeps its text', () => {
    const classified = classifyFailure('plain string');

    expect(classified).toBeInstanceOf(TransientError);
    expect(classified.reason).toBe('unexpected');
    expect(classified.message).toContain('plain string');
  });

  it('ignores a code that is not a known network code', () => {
    expect(classifyFailure(withCode('no such file', 'ENOENT')).reason).toBe('unexpected');
  });
});
