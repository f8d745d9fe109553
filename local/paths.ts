import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Scratch space for the local environment: logs, Chromium's unpacked files, the venv. */
export const SCRATCH_DIR = join(PROJECT_ROOT, '.sluice');
export const CDK_OUT_DIR = join(PROJECT_ROOT, 'cdk.out');
