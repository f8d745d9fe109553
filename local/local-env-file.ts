/**
 * What `npm start -- --keep` writes to `.sluice/local-env.json` so `sluice --local ...` can find
 * the running local environment: the emulator's endpoint and every resource of the stack, with the
 * same logical IDs, physical IDs and tags CloudFormation reports for the deployed stack.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { SCRATCH_DIR } from './paths.js';

export const LOCAL_ENV_FILE = join(SCRATCH_DIR, 'local-env.json');

export const StackResource = z.object({
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
  stackName: z.string(),
  /** The process that keeps the environment running. */
  pid: z.number().int(),
  startedAt: z.iso.datetime(),
  resources: z.array(StackResource),
});
export type LocalEnvFile = z.infer<typeof LocalEnvFile>;
