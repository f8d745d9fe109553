/**
 * Failures grouped by what the pipeline does next (DESIGN.md decision 5). Dispatch with
 * `instanceof`, never on message text.
 */

export interface PipelineErrorOptions {
  readonly cause?: unknown;
  /** A short, stable reason code for metrics, the ledger and DLQ attributes (e.g. `http-503`). */
  readonly reason: string;
}

/**
 * Half of a UTF-16 surrogate pair on its own. Messages quote untrusted text, and some quote it cut
 * by UTF-16 unit (V8's JSON errors do: `Unexpected token '\ud83d', "😀😀…"`): no AWS API takes
 * such a string (SQS refuses it, the SDK cannot URL-encode it), so it becomes U+FFFD here.
 */
const LONE_SURROGATE = /\p{Cs}/gu;

abstract class PipelineError extends Error {
  readonly reason: string;
  constructor(message: string, options: PipelineErrorOptions) {
    super(
      message.replace(LONE_SURROGATE, '\uFFFD'),
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.reason = options.reason;
  }
}

/** Would probably succeed if retried: timeouts, 429, 5xx, network errors, session expiry. */
export class TransientError extends PipelineError {
  override readonly name = 'TransientError';
  /** Server-requested delay (Retry-After), when the source gave one. */
  readonly retryAfterSeconds: number | undefined;
  /**
   * From this attempt on, a person decides instead of another retry (a login wall: retried once,
   * in case a session lapsed, then handed off). @default - retried within the budget
   */
  readonly handOffFromAttempt: number | undefined;
  constructor(
    message: string,
    options: PipelineErrorOptions & {
      readonly retryAfterSeconds?: number;
      readonly handOffFromAttempt?: number;
    },
  ) {
    super(message, options);
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.handOffFromAttempt = options.handOffFromAttempt;
  }
}

/** Will fail the same way every time: invalid job, 404, changed layout, blocked egress. Dead-letter now. */
export class PermanentError extends PipelineError {
  override readonly name = 'PermanentError';
}

/** A person must decide: captcha, ambiguous data, an action that needs approval. */
export class HandoffRequiredError extends PipelineError {
  override readonly name = 'HandoffRequiredError';
}

export type FailureClass = 'transient' | 'permanent' | 'needs-human';

export function failureClassOf(error: TransientError | PermanentError | HandoffRequiredError): FailureClass {
  if (error instanceof TransientError) return 'transient';
  if (error instanceof PermanentError) return 'permanent';
  return 'needs-human';
}
