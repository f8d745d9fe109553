import { ZodError } from 'zod';
import { HandoffRequiredError, PermanentError, TransientError } from './errors.js';

export type ClassifiedError = TransientError | PermanentError | HandoffRequiredError;

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Parses a Retry-After header (seconds or HTTP date) into whole seconds from `now`. */
export function parseRetryAfter(header: string | null | undefined, now: Date): number | undefined {
  if (header === null || header === undefined || header.trim() === '') return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

/** Maps a non-success HTTP status to what happens next. */
export function classifyHttpStatus(status: number, retryAfterSeconds?: number): ClassifiedError {
  const reason = `http-${status}`;
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    return new TransientError(`source answered ${status}`, {
      reason,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
  }
  return new PermanentError(`source answered ${status}, which retrying will not change`, { reason });
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  return errorCode((error as { cause?: unknown }).cause);
}

/**
 * The one place a raw error becomes a pipeline decision. Already-classified errors pass through;
 * timeouts and network errors are transient; validation errors are permanent; anything else is
 * treated as transient so the retry budget, not an infinite loop, bounds it.
 */
export function classifyFailure(error: unknown): ClassifiedError {
  if (
    error instanceof TransientError ||
    error instanceof PermanentError ||
    error instanceof HandoffRequiredError
  ) {
    return error;
  }
  if (error instanceof ZodError) {
    const issues = error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return new PermanentError(`validation failed: ${issues}`, { reason: 'validation', cause: error });
  }
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new TransientError(`timed out: ${message}`, { reason: 'timeout', cause: error });
  }
  const code = errorCode(error);
  if (code !== undefined && TRANSIENT_NETWORK_CODES.has(code)) {
    return new TransientError(`network error ${code}: ${message}`, { reason: 'network', cause: error });
  }
  // Playwright's error for a page, context or browser that went away under us.
  if (name === 'TargetClosedError') {
    return new TransientError(`browser crashed: ${message}`, { reason: 'browser-crash', cause: error });
  }
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  if (metadata !== undefined) {
    return new TransientError(`aws call failed (${name}): ${message}`, { reason: 'aws-error', cause: error });
  }
  return new TransientError(`unexpected error (${name || typeof error}): ${message}`, {
    reason: 'unexpected',
    cause: error,
  });
}
