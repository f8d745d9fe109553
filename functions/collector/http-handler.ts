/** Lambda entry point: the HTTP collector. */
import { z } from 'zod';
import { secretsClient } from '../adapters/aws-clients.js';
import { HttpCollector } from '../adapters/http-collector.js';
import { HttpSessions } from '../adapters/http-sign-in.js';
import { SecretsManagerCredentials } from '../adapters/source-credentials.js';
import { readEnvironment } from '../config.js';
import { assertLocalOverrides } from '../core/egress.js';
import { loginSecretName } from '../core/resource-names.js';
import { COLLECTOR_ENVIRONMENT, collectorHandler } from './collector-entry.js';

const env = readEnvironment({
  ...COLLECTOR_ENVIRONMENT,
  HTTP_TIMEOUT_MS: z.coerce.number().int().positive(),
  MAX_BODY_BYTES: z.coerce.number().int().positive(),
});

const collector = new HttpCollector({
  timeoutMs: env.HTTP_TIMEOUT_MS,
  maxBodyBytes: env.MAX_BODY_BYTES,
  maxRedirects: 5,
  userAgent: 'Sluice/0.1 (+collector)',
  originOverrides: assertLocalOverrides(env.SLUICE_ORIGIN_OVERRIDES ?? {}),
  // A source's login or token lives in the secret named after it; the role may read only its own sources'.
  credentials: new SecretsManagerCredentials(secretsClient(), (source) =>
    loginSecretName(env.SLUICE_APP_NAME, source),
  ),
  // Module scope: one set of sessions per warm container, reused across invocations.
  sessions: new HttpSessions(),
});

export const handler = collectorHandler('http', env, (source, request) => collector.collect(source, request));
