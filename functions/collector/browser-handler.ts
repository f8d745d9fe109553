/** Lambda entry point: the browser collector (headless Chromium). */
import { z } from 'zod';
import { secretsClient } from '../adapters/aws-clients.js';
import {
  BrowserCollector,
  BrowserSession,
  LoginSessions,
  launchChromium,
} from '../adapters/browser-collector.js';
import { SecretsManagerCredentials } from '../adapters/source-credentials.js';
import { readEnvironment } from '../config.js';
import { assertLocalOverrides } from '../core/egress.js';
import { loginSecretName } from '../core/resource-names.js';
import { COLLECTOR_ENVIRONMENT, collectorHandler } from './collector-entry.js';

const env = readEnvironment({
  ...COLLECTOR_ENVIRONMENT,
  NAVIGATION_TIMEOUT_MS: z.coerce.number().int().positive(),
  /** Every step but navigation: a selector, a form, an acknowledgement, a snapshot. */
  READY_TIMEOUT_MS: z.coerce.number().int().positive(),
  /** A whole job; past it the browser is treated as hung and relaunched. */
  JOB_TIMEOUT_MS: z.coerce.number().int().positive(),
  /** Optional: a Chromium binary to use instead of @sparticuz/chromium's (e.g. Debian's, locally). */
  SLUICE_CHROMIUM_EXECUTABLE: z.string().min(1).optional(),
});

// Module scope: one browser and one set of login sessions per warm container, reused across
// invocations.
const browsers = new BrowserSession((proxyUrl) => launchChromium(env.SLUICE_CHROMIUM_EXECUTABLE, proxyUrl));
const collector = new BrowserCollector(browsers, {
  navigationTimeoutMs: env.NAVIGATION_TIMEOUT_MS,
  stepTimeoutMs: env.READY_TIMEOUT_MS,
  jobTimeoutMs: env.JOB_TIMEOUT_MS,
  originOverrides: assertLocalOverrides(env.SLUICE_ORIGIN_OVERRIDES ?? {}),
  userAgent: 'Sluice/0.1 (+collector; headless)',
  // A source's login lives in the secret named after it; the role may read only its own sources'.
  credentials: new SecretsManagerCredentials(secretsClient(), (source) =>
    loginSecretName(env.SLUICE_APP_NAME, source),
  ),
  sessions: new LoginSessions(),
});
export const handler = collectorHandler('browser', env, (source, request) =>
  collector.collect(source, request),
);
