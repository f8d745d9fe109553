/**
 * What `npm start -- --keep` writes to `.sluice/local-env.json` so `sluice --local ...` can find
 * the running local environment: the emulator's endpoint and every resource of every stack of the
 * app, with the same logical IDs, physical IDs and tags CloudFormation reports for the deployed
 * stacks.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { SCRATCH_DIR } from './paths.js';

export const LOCAL_ENV_FILE = join(SCRATCH_DIR, 'local-env.json');

export const StackResource = z.object({
  /** The stack it belongs to. */
  stack: z.string(),
  logicalId: z.string(),
  type: z.string(),
  /** What CloudFormation reports as the physical ID: a queue URL, a table or function name, a topic ARN. */
  physicalId: z.string(),
  tags: z.record(z.string(), z.string()),
});
export type StackResource = z.infer<typeof StackResource>;

export const LocalEnvFile = z.object({
  runId: z.string(),
  endpoint: z.url(),
  region: z.string(),
  /** The app's name, which is its core stack's. */
  appName: z.string(),
  /** Its stacks, in deployment order. */
  stacks: z.array(z.string()),
  /** The process that keeps the environment running. */
  pid: z.number().int(),
  startedAt: z.iso.datetime(),
  resources: z.array(StackResource),
});
export type LocalEnvFile = z.infer<typeof LocalEnvFile>;
