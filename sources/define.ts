/**
 * What a source is (DESIGN.md decision 7). A source lives in one folder:
 *   - `source.ts` — its definition: input schema, how to collect, owners, SLA, budgets, egress;
 *     the collectors and the CDK stack read it.
 *   - `parser.ts` — its record schema and parser; only the transform reads it.
 * The split keeps parsing libraries out of the collector bundles (decision 1).
 */
import { z } from 'zod';
import { privateCidrProblem } from '../functions/core/egress.js';
import { scheduleDefinitionProblem } from './schedule-expression.js';
import { workflowProblems } from './workflow.js';

/** The deepest a follow-up tree may go, whatever a source declares (the CollectJob contract's bound). */
export const MAX_FOLLOW_UP_DEPTH = 100;

export interface SourceOwners {
  /** Who is paged when collection fails (the source's queue, collector, egress). */
  readonly collection: string;
  /** Who owns parsing and normalization rules. */
  readonly transformation: string;
  /** Who owns the records table the source writes to. */
  readonly dataStore: string;
  /** Who decides what counts as a meaningful change and which entities matter. */
  readonly businessRules: string;
}

/** One of the four owner roles; workflow steps and decisions name the role, the definition names the team. */
export type OwnerRole = keyof SourceOwners;

/** A step of the happy path, in order. */
export interface WorkflowStep {
  /** Short kebab-case ID that failure points and decisions refer to, e.g. `fetch`. */
  readonly id: string;
  /** What happens, in words an operator who never read the code understands. */
  readonly does: string;
  /** The collector's stage (the source's queue and DLQ) or the transform's (the shared ones). */
  readonly stage: 'collect' | 'transform';
  /** Who answers for this step. */
  readonly owner: OwnerRole;
  /** Other ways this step can go that are not failures (a redirect, a fallback). @default - none */
  readonly branches?: readonly WorkflowBranch[];
}

export interface WorkflowBranch {
  readonly when: string;
  /** What the step does instead. */
  readonly does: string;
}

/** What the pipeline does when a failure point is hit (DESIGN.md decision 5). */
export type FailureHandling = 'retry' | 'dead-letter' | 'hand-off';

/** Something that can go wrong at a step, and how the pipeline handles it. */
export interface FailurePoint {
  readonly step: string;
  readonly failure: string;
  /** The reason codes recorded for it (job ledger, DLQ attributes, hand-off tasks, logs). */
  readonly reasons: readonly string[];
  readonly handling: FailureHandling;
  /** For `hand-off`: the ID of the decision a person takes. */
  readonly decision?: string;
}

/** Where the automation stops and a person decides (a hand-off task is opened). */
export interface DecisionPoint {
  readonly id: string;
  readonly step: string;
  readonly question: string;
  readonly decidedBy: OwnerRole;
  /** What the person can do, each an action they can take. */
  readonly options: readonly string[];
}

/**
 * How a source's work flows: the happy path, its branches, what can fail and how each failure is
 * handled, and the decisions left to people. `runbooks/workflows/<source>.md` is generated from it.
 */
export interface SourceWorkflow {
  readonly steps: readonly WorkflowStep[];
  readonly failurePoints: readonly FailurePoint[];
  readonly decisions: readonly DecisionPoint[];
}

export interface RetryBudget {
  /** Delay before each retry, in seconds; its length is the number of retries. */
  readonly delaysSeconds: readonly number[];
  /**
   * The longest `Retry-After` (429/503) honoured, in seconds; a longer request waits this long.
   * The synth-time check counts it for every retry. @default - the longest of `delaysSeconds`
   */
  readonly maxRetryAfterSeconds?: number;
}

export interface HttpRequestPlan {
  /** Path and query relative to the source's origin. */
  readonly path: string;
  readonly accept: string;
}

/**
 * How an HTTP source signs in; its credentials live in the source's secret
 * (`<app>/<source>/login`), never in a message or a definition:
 *   - `bearer`: `{"token"}`, sent as `<header>: <scheme><token>` (an API key: `header: 'x-api-key', scheme: ''`);
 *   - `basic`: `{"username", "password"}`, sent as HTTP basic auth;
 *   - `form`: `{"username", "password"}`, posted to a login form whose answer sets a session
 *     cookie; the cookie is reused by the container's jobs while the site accepts it.
 * A 401/403, or a redirect to the login page, refreshes the credentials (or signs in again) once;
 * still refused, the login is rejected and the job dead-lettered.
 */
export type HttpAuth =
  | {
      readonly kind: 'bearer';
      /** @default 'authorization' */
      readonly header?: string;
      /** Put before the token. @default 'Bearer ' */
      readonly scheme?: string;
    }
  | { readonly kind: 'basic' }
  | {
      readonly kind: 'form';
      /** Where the form posts to (`application/x-www-form-urlencoded`). */
      readonly path: string;
      readonly usernameField: string;
      readonly passwordField: string;
      /** Other fields the form sends as they are (a `next`, a remember-me box). @default - none */
      readonly fields?: { readonly [name: string]: string };
      /**
       * The path of the page the site shows a signed-out visitor; a redirect there where data was
       * expected means the session is gone. @default path
       */
      readonly loginPagePath?: string;
    };

export type HttpAuthKind = HttpAuth['kind'];

/**
 * A browser source's artifact is a file the page hands over as a download (an export): a link or
 * button to click on the page of `path`, or a URL that answers with a download. The file is the
 * raw artifact, with its content type and name, capped like any response of the job.
 */
export type BrowserDownload =
  | { readonly click: string; readonly url?: never }
  | { readonly url: string; readonly click?: never };

export interface BrowserPlan {
  /** Path and query relative to the source's origin. */
  readonly path: string;
  /** CSS selector that appears once the page has rendered its data. */
  readonly readyWhen: string;
  /** The artifact is a download, not the page. @default - the page is the artifact */
  readonly download?: BrowserDownload;
}

/**
 * Addresses a source reaches that are not public: sites only reachable inside the team's VPC.
 * Refused unless the deployment names the VPC (context `sluice:vpc`); its collector then runs in
 * that VPC, and the egress guard admits exactly these ranges besides public addresses (loopback,
 * link-local and the metadata service never).
 */
export interface SourceNetwork {
  /** CIDR ranges, e.g. `10.20.0.0/16`: each must be a private (RFC 1918) or unique-local range. */
  readonly privateCidrs: readonly string[];
}

/** Playwright resource types a source can refuse to load. */
export type BrowserResourceType = 'image' | 'font' | 'media' | 'stylesheet' | 'texttrack' | 'manifest';

/** Resource types a browser source never loads unless it says otherwise. */
export const DEFAULT_BLOCKED_RESOURCES: readonly BrowserResourceType[] = ['image', 'font', 'media'];

/** A page that means a person must decide; the job stops and a hand-off task is opened. */
export interface HandoffSign {
  /** CSS selector whose presence on any page of the job is the sign. */
  readonly selector: string;
  /** Stable reason code for the task and metrics, e.g. `captcha`. */
  readonly reason: string;
  /** What the person is asked to do. */
  readonly message: string;
}

/** Captcha widgets Sluice recognises on every source, in the browser and over HTTP. */
export const DEFAULT_HANDOFF_SIGNS: readonly HandoffSign[] = [
  {
    selector: '[data-captcha], .g-recaptcha, .h-captcha, iframe[src*="captcha"], #captcha',
    reason: 'captcha',
    message: 'the page asks for a captcha; solve it or arrange access, then requeue the job',
  },
];

/**
 * How to sign in to a portal. The credentials are never in a message or a definition: the stack
 * creates a Secrets Manager secret per source with a login (JSON `{"username","password"}`) and
 * the collector reads it. A signed-in session is reused while the portal accepts it.
 */
export interface LoginPlan {
  /** Path of the sign-in page. */
  readonly path: string;
  readonly usernameField: string;
  readonly passwordField: string;
  readonly submit: string;
  /** Present once signed in. */
  readonly signedInWhen: string;
  /** Present when the portal refused the credentials. */
  readonly rejectedWhen: string;
  /** Present on any page the portal shows instead of the requested one when the session is gone. */
  readonly formWhen: string;
  /** What operators see on the secret. */
  readonly secretDescription: string;
}

/**
 * A portal action (submit a form) that must happen once. The collector first reads the page of
 * `browse(input)`: if it shows the action done, nothing is submitted; if it is ambiguous, a person
 * decides; otherwise the form is submitted, acknowledged, and the page read again.
 */
export interface PortalAction {
  /** Present on the browse page when the action is already done. */
  readonly doneWhen: string;
  /** Present on the browse page when it cannot tell (a person must look). @default - never */
  readonly ambiguousWhen?: string;
  /** Path of the form. */
  readonly formPath: string;
  readonly fields: readonly { readonly selector: string; readonly value: string }[];
  readonly submit: string;
  /** Present on the page the portal answers with once it accepted the submission. */
  readonly acknowledgedWhen: string;
  /** Present when the portal accepted it but a person must approve it. @default - never */
  readonly approvalWhen?: string;
}

/**
 * When a source collects by itself (DESIGN.md decision 7, amended in docs/scheduling-and-change-feed.md):
 * the stack creates an EventBridge Scheduler schedule that sends a scheduled run to the source's
 * jobs queue, and the collector turns each run into the jobs `inputs` names for its time.
 */
export interface SourceSchedule<Input> {
  /**
   * An EventBridge Scheduler expression: `rate(<n> minute(s)|hour(s)|day(s))`, or
   * `cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)`.
   */
  readonly expression: string;
  /** The IANA time zone a cron expression is read in, e.g. `Europe/Berlin`. @default 'UTC' */
  readonly timeZone?: string;
  /**
   * What each run collects: a fixed list of inputs, or a function of the scheduled time (e.g. the
   * day before it). Each input must pass the source's input schema; at most MAX_SCHEDULED_INPUTS.
   */
  readonly inputs: readonly Input[] | ((scheduledAt: Date) => readonly Input[]);
}

/** The most jobs one scheduled run may start. */
export const MAX_SCHEDULED_INPUTS = 100;

/** A job a collection asks for next: a page, a detail page, of this source or another. */
export interface FollowUpRequest {
  readonly source: string;
  readonly input: unknown;
}

/** What an HTTP collector saw of a response, for the follow-ups it may ask for. */
export interface SeenResponse {
  readonly url: string;
  readonly status: number;
  /** Header names lower-case. */
  readonly headers: { readonly [name: string]: string };
}

/**
 * How far a source's jobs may ask for more jobs. The bounds are enforced by whoever enqueues
 * (the collector for what it saw, the transform for the parser's links); follow-ups past them
 * are refused and recorded in the ledger, never enqueued.
 */
export interface FollowUpPolicy<Input = unknown> {
  /**
   * The sources whose jobs queues this source's follow-ups may go to (itself only if named): the
   * stack grants sending to exactly these queues.
   */
  readonly targets: readonly string[];
  /** The most follow-ups one job may ask for; the rest are refused (`too-many-follow-ups`). */
  readonly maxFollowUps: number;
  /** The deepest follow-up a tree may reach (its first job is depth 0); deeper is refused (`too-deep`). */
  readonly maxDepth: number;
  /**
   * HTTP sources: follow-ups from what the collector saw while collecting (a `Link: rel="next"`
   * header, a redirect). The parser's `followUps` reads links in the raw body instead.
   * @default - none
   */
  fromResponse?(input: Input, response: SeenResponse): readonly FollowUpRequest[];
}

interface SourceDefinitionBase<Input> {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  /** Validates the untrusted `input` of a CollectJob for this source. */
  readonly input: z.ZodType<Input>;
  readonly owners: SourceOwners;
  /** Records older than this are stale; alarms and the retry budget are derived from it. */
  readonly freshnessSlaMinutes: number;
  /** Identical jobs requested within one window collect once. */
  readonly dedupeWindowSeconds: number;
  readonly retry: RetryBudget;
  /** Maximum concurrent collector invocations for this source (Lambda event source mapping, >= 2). */
  readonly maxConcurrency: number;
  /** Messages handed to one invocation (1..10). */
  readonly batchSize: number;
  /** The origin collected in production, e.g. `https://catalog.example.com`. */
  readonly origin: string;
  /** Hosts the collector may contact for this source; anything else is refused. */
  readonly allowedHosts: readonly string[];
  /** Private ranges the source needs (its collector runs in the VPC). @default - public addresses only */
  readonly network?: SourceNetwork;
  /** Required: the workflow map, ownership docs and runbooks are generated from it. */
  readonly workflow: SourceWorkflow;
  /** Collect on a schedule as well as on request. @default - only when a job is sent */
  readonly schedule?: SourceSchedule<Input>;
  /** Jobs of this source may ask for more jobs (pages, details). @default - never */
  readonly followUps?: FollowUpPolicy<Input>;
  /**
   * Pages that stop the job for a person: the browser collector watches for them while a page
   * renders, the HTTP collector looks for them in every HTML answer (functions/core/response-screen.ts).
   * @default DEFAULT_HANDOFF_SIGNS
   */
  readonly handoffWhen?: readonly HandoffSign[];
}

export interface HttpSourceDefinition<Input = unknown> extends SourceDefinitionBase<Input> {
  readonly kind: 'http';
  // Method syntax keeps definitions with specific inputs assignable to SourceDefinition<unknown>.
  request(input: Input): HttpRequestPlan;
  /**
   * Statuses that mean "this page does not exist" (a page past the last of a paginated API): the
   * job ends at once with reason `no-such-page`, a permanent outcome that says what happened,
   * rather than `http-404` or a layout change. @default - none
   */
  readonly noSuchPageStatuses?: readonly number[];
  /** How it signs in. @default - no credentials */
  readonly auth?: HttpAuth;
}

export interface BrowserSourceDefinition<Input = unknown> extends SourceDefinitionBase<Input> {
  readonly kind: 'browser';
  browse(input: Input): BrowserPlan;
  /** Resource types never loaded for this source. @default DEFAULT_BLOCKED_RESOURCES */
  readonly blockedResources?: readonly BrowserResourceType[];
  /** Sign in before browsing. @default - no login */
  readonly login?: LoginPlan;
  /** A form to submit once per job, checked on the browse page first. @default - read only */
  action?(input: Input): PortalAction;
}

export type SourceDefinition<Input = unknown> = HttpSourceDefinition<Input> | BrowserSourceDefinition<Input>;
export type CollectorKind = SourceDefinition['kind'];

/** The input of a source that takes no parameters: a job may leave `input` out. */
export const NO_INPUT = z.object({}).strict();
export type NoInput = z.infer<typeof NO_INPUT>;

/** A source definition as written: a source without parameters may leave `input` out. */
export type SourceDefinitionInit<Input> =
  | (Omit<HttpSourceDefinition<Input>, 'input'> & { readonly input?: z.ZodType<Input> })
  | (Omit<BrowserSourceDefinition<Input>, 'input'> & { readonly input?: z.ZodType<Input> });

/** What a source signs in with, and so what its secret holds: none, a token, or a login. */
export type CredentialShape = 'token' | 'login';

/** The shape of the source's secret, or undefined when it signs in nowhere. */
export function credentialShapeOf(source: SourceDefinition): CredentialShape | undefined {
  if (source.kind === 'browser') return source.login === undefined ? undefined : 'login';
  if (source.auth === undefined) return undefined;
  return source.auth.kind === 'bearer' ? 'token' : 'login';
}

/** What operators see on a source's secret, per shape. */
export function secretDescriptionOf(source: SourceDefinition): string | undefined {
  if (source.kind === 'browser') return source.login?.secretDescription;
  switch (source.auth?.kind) {
    case undefined:
      return undefined;
    case 'bearer':
      return `the API token Sluice sends (${source.auth.header ?? 'authorization'} header), as {"token"}`;
    case 'basic':
      return 'the account Sluice signs in with (HTTP basic auth), as {"username", "password"}';
    case 'form':
      return `the account Sluice signs in with at ${source.auth.path}, as {"username", "password"}`;
  }
}

/** A candidate record before validation: the entity it describes and its normalized data. */
export interface CandidateRecord {
  readonly entityId: string;
  readonly data: unknown;
}

export interface ParseContext {
  /** The final URL the raw body came from, for resolving relative links. */
  readonly finalUrl: string;
  readonly contentType: string | undefined;
  /** The input of the job that collected it (validated by the source when the job was taken). */
  readonly input?: unknown;
}

export interface SourceParser<Data extends { [key: string]: unknown } = { [key: string]: unknown }> {
  readonly source: string;
  /**
   * The revision of the parsing and normalization rules. Bump it whenever a change to the rules
   * changes the records a raw object produces: records remember the revision that made them, and
   * a replay with a higher revision may rewrite records made from the very same observation
   * (see functions/core/record-upsert.ts). @default 1
   */
  readonly revision?: number;
  /** Every candidate's `data` is validated with this schema before any write. */
  readonly record: z.ZodType<Data>;
  /** Turns the exact raw bytes into candidate records. Pure: no network, no clock. */
  readonly parse: (body: Buffer, context: ParseContext) => CandidateRecord[];
  /**
   * The follow-up jobs the raw body links to (the next page, detail pages), within the source's
   * `followUps` policy. Pure, like `parse`; called only for a fresh collection, never on replay.
   * @default - none
   */
  readonly followUps?: (body: Buffer, context: ParseContext) => FollowUpRequest[];
}

export function defineSource<Input = NoInput>(init: SourceDefinitionInit<Input>): SourceDefinition<Input> {
  const definition = {
    ...init,
    input: init.input ?? (NO_INPUT as unknown as z.ZodType<Input>),
  } as SourceDefinition<Input>;
  if (!/^[a-z][a-z0-9-]{1,40}$/.test(definition.name)) {
    throw new Error(`source name must be lowercase letters, digits and dashes, got ${definition.name}`);
  }
  if (definition.batchSize < 1 || definition.batchSize > 10) {
    throw new Error(`${definition.name}: batchSize must be 1..10, got ${definition.batchSize}`);
  }
  if (definition.maxConcurrency < 2) {
    throw new Error(
      `${definition.name}: maxConcurrency must be at least 2 (Lambda's minimum), got ${definition.maxConcurrency}`,
    );
  }
  for (const [role, owner] of Object.entries(definition.owners)) {
    // An owner names an SNS topic (`<app>-alarms-<owner>`) and tag values.
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(owner)) {
      throw new Error(
        `${definition.name}: owners.${role} must be a team name of lowercase letters, digits and dashes, got ${JSON.stringify(owner)}`,
      );
    }
  }
  const originHost = new URL(definition.origin).host;
  if (!definition.allowedHosts.includes(originHost)) {
    throw new Error(`${definition.name}: origin host ${originHost} must be in allowedHosts`);
  }
  const { delaysSeconds, maxRetryAfterSeconds } = definition.retry;
  if (delaysSeconds.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(
      `${definition.name}: retry.delaysSeconds must be whole seconds >= 0, got ${JSON.stringify(delaysSeconds)}`,
    );
  }
  if (
    maxRetryAfterSeconds !== undefined &&
    (!Number.isInteger(maxRetryAfterSeconds) || maxRetryAfterSeconds < 0)
  ) {
    throw new Error(
      `${definition.name}: retry.maxRetryAfterSeconds must be whole seconds >= 0, got ${maxRetryAfterSeconds}`,
    );
  }
  const followUps = definition.followUps;
  if (followUps !== undefined) {
    if (
      !Number.isInteger(followUps.maxFollowUps) ||
      followUps.maxFollowUps < 1 ||
      followUps.maxFollowUps > 1000
    ) {
      throw new Error(
        `${definition.name}: followUps.maxFollowUps must be 1..1000, got ${followUps.maxFollowUps}`,
      );
    }
    if (
      !Number.isInteger(followUps.maxDepth) ||
      followUps.maxDepth < 1 ||
      followUps.maxDepth > MAX_FOLLOW_UP_DEPTH
    ) {
      throw new Error(
        `${definition.name}: followUps.maxDepth must be 1..${MAX_FOLLOW_UP_DEPTH}, got ${followUps.maxDepth}`,
      );
    }
    if (followUps.targets.length === 0) {
      throw new Error(
        `${definition.name}: followUps.targets names no source; name at least one (itself for pagination)`,
      );
    }
    const badTarget = followUps.targets.find((t) => !/^[a-z][a-z0-9-]{1,40}$/.test(t));
    if (badTarget !== undefined)
      throw new Error(
        `${definition.name}: followUps.targets has no source name ${JSON.stringify(badTarget)}`,
      );
  }
  if (definition.schedule !== undefined) {
    const problem = scheduleDefinitionProblem(definition.schedule, definition.input, MAX_SCHEDULED_INPUTS);
    if (problem !== undefined) throw new Error(`${definition.name}: schedule ${problem}`);
  }
  for (const cidr of definition.network?.privateCidrs ?? []) {
    const problem = privateCidrProblem(cidr);
    if (problem !== undefined) throw new Error(`${definition.name}: network.privateCidrs: ${problem}`);
  }
  const problems = workflowProblems(definition);
  if (problems.length > 0) {
    throw new Error(`${definition.name}: the workflow is incomplete: ${problems.join('; ')}`);
  }
  return definition;
}

export function defineParser<Data extends { [key: string]: unknown }>(
  parser: SourceParser<Data>,
): SourceParser<Data> {
  return parser;
}

/**
 * What counts as a meaningful change of a source's records, and which entities matter most: the
 * business-rules owner's rules (DESIGN.md decision 7), in `sources/<name>/changes.ts`. Every
 * RecordChanged event of the source carries `meaningful` and `priority` from them, so downstream
 * teams subscribe to what matters with an EventBridge rule instead of re-deciding it.
 */
export interface ChangeRules<Data extends { [key: string]: unknown } = { [key: string]: unknown }> {
  readonly source: string;
  readonly meaningful: {
    /** The rule in words, for the workflow map and OWNERS.md, e.g. `the price moves more than 1 %`. */
    readonly description: string;
    /** Pure. `before` is undefined when the record was just created. */
    readonly test: (before: Data | undefined, after: Data) => boolean;
  };
  /** @default - every entity is of normal priority */
  readonly highPriority?: {
    readonly description: string;
    /** Pure: whether this entity is high priority, given its new data. */
    readonly test: (entityId: string, data: Data) => boolean;
  };
}

/**
 * Declares a source's change rules, typed by its record. What the change feed hands them is a
 * record's stored data, which the transform validated against the same record schema before it
 * wrote it (DESIGN.md decision 4): the only place that type is taken on trust.
 */
export function defineChangeRules<Data extends { [key: string]: unknown }>(
  rules: ChangeRules<Data>,
): ChangeRules {
  return rules as unknown as ChangeRules;
}
