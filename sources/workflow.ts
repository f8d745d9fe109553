/**
 * Source workflows (DESIGN.md decision 7): the checks every workflow must pass, and the parts that
 * every source shares — job intake, raw storage and the transform stage — so a source definition
 * spells out only what is its own (how it fetches, what it parses, who decides what).
 */
import type {
  CollectorKind,
  DecisionPoint,
  FailureHandling,
  FailurePoint,
  OwnerRole,
  RetryBudget,
  SourceWorkflow,
  WorkflowStep,
} from './define.js';

export const FAILURE_HANDLING: readonly FailureHandling[] = ['retry', 'dead-letter', 'hand-off'];
export const OWNER_ROLES: readonly OwnerRole[] = [
  'collection',
  'transformation',
  'dataStore',
  'businessRules',
];

const ID = /^[a-z][a-z0-9-]*$/;

/**
 * Everything that makes a workflow unusable as an operator's map: a failure point with no (or an
 * unknown) handling, references to steps or decisions that do not exist, a hand-off with no
 * decision, a decision nobody reaches or nobody owns. Empty when the workflow is complete.
 */
export function workflowProblems(source: {
  readonly retry: RetryBudget;
  readonly workflow: SourceWorkflow | undefined;
}): string[] {
  const { workflow } = source;
  if (workflow === undefined || workflow === null) return ['no workflow is defined'];
  const problems: string[] = [];
  const steps = new Set<string>();
  if (workflow.steps.length === 0) problems.push('it has no steps');
  for (const step of workflow.steps) {
    if (!ID.test(step.id)) problems.push(`step id ${JSON.stringify(step.id)} must be kebab-case`);
    if (steps.has(step.id)) problems.push(`step ${step.id} is defined twice`);
    steps.add(step.id);
    if (!OWNER_ROLES.includes(step.owner)) problems.push(`step ${step.id} has no known owner role`);
  }
  const decisions = new Set(workflow.decisions.map((d) => d.id));
  const reached = new Set<string>();
  workflow.failurePoints.forEach((point, index) => {
    const label = `failure point #${index + 1} (${point.failure || 'unnamed'})`;
    if (!steps.has(point.step)) problems.push(`${label} names an unknown step ${point.step}`);
    if (!FAILURE_HANDLING.includes(point.handling)) {
      problems.push(`${label} has no handling; expected one of ${FAILURE_HANDLING.join(', ')}`);
    }
    if (point.reasons.length === 0) problems.push(`${label} names no reason codes`);
    if (point.handling === 'hand-off') {
      if (point.decision === undefined) problems.push(`${label} hands off but names no decision`);
      else if (!decisions.has(point.decision))
        problems.push(`${label} names an unknown decision ${point.decision}`);
      else reached.add(point.decision);
    }
    if (point.handling === 'retry' && source.retry.delaysSeconds.length === 0) {
      problems.push(`${label} is retried but the retry budget has no retries`);
    }
  });
  for (const decision of workflow.decisions) {
    if (!steps.has(decision.step))
      problems.push(`decision ${decision.id} names an unknown step ${decision.step}`);
    if (!OWNER_ROLES.includes(decision.decidedBy)) problems.push(`decision ${decision.id} has no owner role`);
    if (decision.options.length === 0) problems.push(`decision ${decision.id} offers no options`);
    if (!reached.has(decision.id)) problems.push(`decision ${decision.id} is not reached by any hand-off`);
  }
  return problems;
}

// ---- Shared parts ------------------------------------------------------------------------------

/** The job arriving on the source's queue and being checked before anything is fetched. */
export const jobIntake = {
  steps: [
    {
      id: 'receive-job',
      does:
        "Take the job from the source's jobs queue, check it is a CollectJob with a valid input for this " +
        'source, and derive its job key (the upstream jobId, or a hash of the input within the dedupe window)',
      owner: 'collection',
      stage: 'collect',
      branches: [
        {
          when: 'the job was already collected inside its dedupe window (a duplicate delivery)',
          does: 'nothing is fetched; the ledger records the duplicate and names the earlier manifest',
        },
        {
          when: 'another delivery of the same job holds its claim right now',
          does: 'this delivery waits until that claim lapses, then checks again (it never collects twice)',
        },
      ],
    },
  ],
  failurePoints: [
    {
      step: 'receive-job',
      failure: 'the message is not JSON, is too large, or is not a CollectJob',
      reasons: ['message-not-json', 'message-too-large', 'message-invalid'],
      handling: 'dead-letter',
    },
    {
      step: 'receive-job',
      failure: 'the job names a source that is not registered, or another source than the queue it came from',
      reasons: ['unknown-source', 'wrong-queue'],
      handling: 'dead-letter',
    },
    {
      step: 'receive-job',
      failure: "the input does not match the source's input schema",
      reasons: ['input-invalid'],
      handling: 'dead-letter',
    },
  ],
} as const satisfies Pick<SourceWorkflow, 'steps' | 'failurePoints'>;

/** The failures of an HTTP fetch, at step `step`. */
export function httpFetchFailures(step: string): FailurePoint[] {
  return [
    {
      step,
      failure:
        'the source is slow, unreachable, rate-limiting or failing (timeout, network error, 408, 425, 429, 5xx)',
      reasons: ['timeout', 'network', 'http-429', 'http-5xx'],
      handling: 'retry',
    },
    {
      step,
      failure: 'every retry in the budget failed too',
      reasons: ['retries-exhausted'],
      handling: 'dead-letter',
    },
    {
      step,
      failure: 'the source answers 404 or another 4xx that retrying will not change',
      reasons: ['http-404', 'http-4xx'],
      handling: 'dead-letter',
    },
    {
      step,
      failure: 'a URL or redirect leads outside the allowlist or to a private address',
      reasons: ['egress-blocked'],
      handling: 'dead-letter',
    },
    {
      step,
      failure: 'the body is larger than the limit, or redirects loop',
      reasons: ['body-too-large', 'too-many-redirects'],
      handling: 'dead-letter',
    },
    {
      step,
      failure: 'the source answers with a captcha page instead of the data',
      reasons: ['captcha'],
      handling: 'hand-off',
      decision: 'captcha',
    },
    ...loginWallFailures(step),
  ];
}

/**
 * A login page where data was expected (a redirect to a sign-in form, a page asking for a
 * password): never stored as a success. Retried once — a session can lapse between two requests —
 * then a person decides.
 */
export function loginWallFailures(step: string): FailurePoint[] {
  return [
    {
      step,
      failure: 'a login page came back where data was expected (first time: a session may have lapsed)',
      reasons: ['login-required'],
      handling: 'retry',
    },
    {
      step,
      failure: 'a login page came back again on the next attempt',
      reasons: ['login-required'],
      handling: 'hand-off',
      decision: 'login-required',
    },
  ];
}

/** The decisions an HTTP collection can hand to a person, at step `step`. */
export function httpDecisions(step: string): DecisionPoint[] {
  return [
    captchaDecision(step),
    {
      id: 'login-required',
      step,
      question:
        'The source answered with a login page instead of its data: does it need credentials Sluice lacks, or did its sign-in change?',
      decidedBy: 'collection',
      options: [
        'it needs a login: declare `auth` in the source, set the login with `npx sluice credentials set <source>`, then requeue the job',
        "the login is set but the site's sign-in changed: fix the source's `auth`, then requeue the job",
      ],
    },
  ];
}

/**
 * Signing in, at step `step`: a session that lapsed is retried (the next attempt signs in again);
 * refused credentials, or a secret without them, go to the DLQ at once (the cached value is
 * dropped, so a fixed secret is read on the requeue).
 */
export function signInFailures(step: string): FailurePoint[] {
  return [
    {
      step,
      failure: 'the session expired',
      reasons: ['session-expired'],
      handling: 'retry',
    },
    {
      step,
      failure: 'the source refuses the login, or the secret has no login',
      reasons: ['login-rejected', 'credentials-missing'],
      handling: 'dead-letter',
    },
  ];
}

/** The sign-in step of a source that signs in (its credentials come from its secret, never a job). */
export function signInStep(options: {
  readonly host: string;
  readonly how: string;
  readonly kind: CollectorKind;
}): WorkflowStep {
  return {
    id: 'sign-in',
    does: `Sign in to ${options.host} ${options.how} with the login from the source's Secrets Manager secret (never from the job)`,
    owner: 'collection',
    stage: 'collect',
    branches: [
      {
        when: 'this container signed in before and the source still accepts it',
        does: 'reuse that session',
      },
      {
        when: 'the session has expired',
        does:
          options.kind === 'http'
            ? 'sign in again at once (once), then repeat the request'
            : 'fail this attempt as transient; the retry signs in again',
      },
    ],
  };
}

/** The failures of a headless-browser collection, at step `step`; see browserDecisions. */
export function browserFailures(step: string): FailurePoint[] {
  return [
    {
      step,
      failure: 'the page is slow or unreachable, the source answers 429/5xx, or Chromium crashes',
      reasons: ['timeout', 'network', 'no-response', 'browser-crash', 'http-429', 'http-5xx'],
      handling: 'retry',
    },
    {
      step,
      failure: 'every retry in the budget failed too',
      reasons: ['retries-exhausted'],
      handling: 'dead-letter',
    },
    {
      step,
      failure: 'the page never shows its ready marker: the layout probably changed',
      reasons: ['selector-missing'],
      handling: 'dead-letter',
    },
    {
      step,
      failure:
        'the source answers 404 or another 4xx, the page URL is outside the allowlist, the page starts a download, or its responses exceed the size limit',
      reasons: ['http-404', 'http-4xx', 'egress-blocked', 'download-blocked', 'body-too-large'],
      handling: 'dead-letter',
    },
    {
      step,
      failure: 'the page asks for a captcha',
      reasons: ['captcha'],
      handling: 'hand-off',
      decision: 'captcha',
    },
  ];
}

/** A captcha in place of the page: is Sluice being blocked? */
function captchaDecision(step: string): DecisionPoint {
  return {
    id: 'captcha',
    step,
    question: 'The source showed a captcha: is Sluice being blocked, or is it a one-off?',
    decidedBy: 'collection',
    options: [
      'a one-off: requeue the job from its DLQ message or task (sluice enqueue with the same input)',
      "blocked: lower the source's concurrency or arrange access with the source owner, then requeue",
    ],
  };
}

/** The decisions a browser collection can hand to a person, at step `step`. */
export function browserDecisions(step: string): DecisionPoint[] {
  return [captchaDecision(step)];
}

/** Raw storage: the exact response, snapshots, then the manifest, which starts the transform. */
export const rawStorage = {
  steps: [
    {
      id: 'store-raw',
      does:
        'Write the exact response (and any snapshots) to the raw bucket, append-only, then manifest.json ' +
        'last; the job ledger records the attempt and its raw keys',
      owner: 'collection',
      stage: 'collect',
    },
  ],
  failurePoints: [
    {
      step: 'store-raw',
      failure: 'S3 or DynamoDB refuses or times out',
      reasons: ['aws-error', 'timeout'],
      handling: 'retry',
    },
  ],
} as const satisfies Pick<SourceWorkflow, 'steps' | 'failurePoints'>;

export interface TransformStageOptions {
  /** What the parser reads and what one record is, e.g. `each product card → one record per SKU`. */
  readonly parses: string;
  /** Who decides when a page yields no records (usually whoever owns the parser). */
  readonly noRecordsDecidedBy: OwnerRole;
  /** Who decides when records fail their schema (the business owner when values look wrong). */
  readonly invalidRecordsDecidedBy: OwnerRole;
  /**
   * What the parser follows in the raw body, e.g. `the page's next link`: a branch of the parse
   * step that enqueues follow-up jobs. @default - it follows nothing
   */
  readonly follows?: string;
}

/** The transform stage every source shares: parse, validate, conditional upsert. */
export function transformStage(options: TransformStageOptions): SourceWorkflow {
  const steps: WorkflowStep[] = [
    {
      id: 'parse',
      does: `Read the manifest and the raw object it names (checksum verified) and parse it: ${options.parses}`,
      owner: 'transformation',
      stage: 'transform',
      ...(options.follows === undefined
        ? {}
        : {
            branches: [
              {
                when: `the raw body links ${options.follows} (a fresh collection, never a replay)`,
                does: "a follow-up job for it goes to its source's jobs queue, within the source's followUps bounds; the rest are refused and recorded",
              },
            ],
          }),
    },
    {
      id: 'validate',
      does: "Validate every record against the source's record schema; nothing is written unless all pass",
      owner: 'transformation',
      stage: 'transform',
    },
    {
      id: 'upsert',
      does: 'Upsert each record into the records table if it is new or a strictly newer observation',
      owner: 'dataStore',
      stage: 'transform',
      branches: [
        { when: 'the content is the same as stored', does: 'only lastSeenAt moves (counted unchanged)' },
        {
          when: 'an older observation arrives late',
          does: 'it is skipped, never written (counted stale)',
        },
      ],
    },
  ];
  const failurePoints: FailurePoint[] = [
    {
      step: 'parse',
      failure: 'the manifest is unreadable, names no parser, or the raw object does not match its checksum',
      reasons: ['manifest-invalid', 'unknown-source', 'raw-checksum-mismatch'],
      handling: 'dead-letter',
    },
    {
      step: 'parse',
      failure: 'the parser finds no records at all, or throws on the raw bytes',
      reasons: ['no-records', 'parse-failed'],
      handling: 'hand-off',
      decision: 'no-records',
    },
    {
      step: 'validate',
      failure: 'one or more records fail the record schema',
      reasons: ['records-invalid'],
      handling: 'hand-off',
      decision: 'invalid-records',
    },
    {
      step: 'upsert',
      failure:
        "S3 or DynamoDB throttles, refuses or times out, or the function's time runs out before every record is written",
      reasons: ['aws-error', 'timeout', 'unexpected', 'record-contention', 'transform-deadline'],
      handling: 'retry',
    },
    {
      step: 'upsert',
      failure: "every retry in the transform's budget failed too, or a stored record is unreadable",
      reasons: ['retries-exhausted', 'record-invalid'],
      handling: 'dead-letter',
    },
  ];
  const decisions: DecisionPoint[] = [
    {
      id: 'no-records',
      step: 'parse',
      question:
        'The raw data gave no records (or the parser failed on it): did its format change, or is it legitimately empty?',
      decidedBy: options.noRecordsDecidedBy,
      options: [
        'layout changed: fix the parser, then replay the raw object (no re-fetch)',
        'legitimately empty: resolve the task with a note',
      ],
    },
    {
      id: 'invalid-records',
      step: 'validate',
      question: 'Records failed validation: are the values wrong at the source, or is the rule wrong?',
      decidedBy: options.invalidRecordsDecidedBy,
      options: [
        'the rule is wrong: change the record schema or normalization, then replay',
        'the source is wrong: tell its owner, resolve the task, re-run once it is fixed',
      ],
    },
  ];
  return { steps, failurePoints, decisions };
}

// ---- A whole workflow from its parts -------------------------------------------------------------

export interface SourceWorkflowParts {
  /** How the source is collected. */
  readonly kind: CollectorKind;
  /**
   * The collection steps particular to the source, in order (sign-in, fetch or render, a portal
   * action). The kind's failures (HTTP or browser) are attached to `fetchStep`.
   */
  readonly collect: readonly WorkflowStep[];
  /** The step that fetches or renders. @default the last of `collect` */
  readonly fetchStep?: string;
  /** The step that signs in, when the source signs in: its failure points are added. @default - none */
  readonly signInStep?: string;
  readonly transform: TransformStageOptions;
  /** Failure points particular to the source. @default - none */
  readonly failurePoints?: readonly FailurePoint[];
  /** Decisions particular to the source. @default - none */
  readonly decisions?: readonly DecisionPoint[];
}

/**
 * A source's whole workflow: job intake, its own collection steps with the failures of its kind
 * (and of signing in), raw storage and the transform stage, so a definition says only what is
 * particular to it.
 */
export function sourceWorkflow(parts: SourceWorkflowParts): SourceWorkflow {
  const fetchStep = parts.fetchStep ?? parts.collect.at(-1)?.id;
  if (fetchStep === undefined) throw new Error('a workflow needs at least one collection step');
  const transform = transformStage(parts.transform);
  const kindFailures = parts.kind === 'http' ? httpFetchFailures(fetchStep) : browserFailures(fetchStep);
  const kindDecisions = parts.kind === 'http' ? httpDecisions(fetchStep) : browserDecisions(fetchStep);
  return {
    steps: [...jobIntake.steps, ...parts.collect, ...rawStorage.steps, ...transform.steps],
    failurePoints: [
      ...jobIntake.failurePoints,
      ...(parts.signInStep === undefined ? [] : signInFailures(parts.signInStep)),
      ...kindFailures,
      ...(parts.failurePoints ?? []),
      ...rawStorage.failurePoints,
      ...transform.failurePoints,
    ],
    decisions: [...transform.decisions, ...kindDecisions, ...(parts.decisions ?? [])],
  };
}
