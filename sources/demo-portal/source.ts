import { z } from 'zod';
import { defineSource } from '../define.js';

export const PortalInput = z
  .object({
    account: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,30}$/, 'account must be lowercase letters, digits and dashes'),
    period: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'period must be YYYY-MM'),
  })
  .strict();
export type PortalInput = z.infer<typeof PortalInput>;

/** CSS attribute values come from the validated input only; this keeps them inert anyway. */
function quoted(value: string): string {
  return JSON.stringify(value);
}

/**
 * A partner portal where Sluice requests a monthly statement: sign in, look at the account's
 * statements, and — only if the period is not requested yet — submit the request form and wait
 * for the acknowledgement. The statements page is what is collected (it names the reference).
 */
export const demoPortal = defineSource<PortalInput>({
  name: 'demo-portal',
  title: 'Demo partner portal: statement requests',
  description: 'Requests a monthly statement once per account and period, behind a login.',
  kind: 'browser',
  input: PortalInput,
  owners: {
    collection: 'team-collection',
    transformation: 'team-data',
    dataStore: 'team-data',
    businessRules: 'team-finance',
  },
  freshnessSlaMinutes: 24 * 60,
  dedupeWindowSeconds: 24 * 3600,
  retry: { delaysSeconds: [30, 300, 1800] },
  maxConcurrency: 2,
  batchSize: 1,
  origin: 'https://portal.demo.sluice.example',
  allowedHosts: ['portal.demo.sluice.example'],
  blockedResources: ['image', 'font', 'media', 'stylesheet'],
  login: {
    path: '/portal/login',
    usernameField: 'form#login input[name="username"]',
    passwordField: 'form#login input[name="password"]',
    submit: 'form#login button[type="submit"]',
    signedInWhen: 'main[data-signed-in="true"]',
    rejectedWhen: '.login-error',
    formWhen: 'form#login',
    secretDescription: 'the portal account Sluice signs in with, as {"username", "password"}',
  },
  browse: (input) => ({
    path: `/portal/statements?account=${encodeURIComponent(input.account)}`,
    readyWhen: 'main#statements[data-ready="true"]',
  }),
  action: (input) => ({
    doneWhen: `tr.statement[data-period=${quoted(input.period)}][data-status="requested"]`,
    ambiguousWhen: `tr.statement[data-period=${quoted(input.period)}]:not([data-status="requested"])`,
    formPath: `/portal/statements/new?account=${encodeURIComponent(input.account)}`,
    fields: [{ selector: 'form#request-statement input[name="period"]', value: input.period }],
    submit: 'form#request-statement button[type="submit"]',
    acknowledgedWhen: '.acknowledgement[data-reference]',
    approvalWhen: '.approval-required',
  }),
});
