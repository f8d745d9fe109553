/** Lambda entry point: the HTTP collector. */
import { z } from 'zod';
import { HttpCollector } from '../adapters/http-collector.js';
import { readEnvironment } from '../config.js';
import { assertLocalOverrides } from '../core/egress.js';
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
});

export const handler = collectorHandler('http', env, (source, request) => collector.collect(source, request));
