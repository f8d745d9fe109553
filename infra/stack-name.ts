/**
 * The core stack's name in the default app (context `sluice:appName` unset): the stack whose
 * template holds the shared tables and bucket. The source stacks are `<app>-Sources-<nn>`
 * (infra/source-stacks.ts); the CLI and the local environment find them all by the `sluice:app` tag.
 */
import { DEFAULT_APP_NAME } from '../functions/core/resource-names.js';

export const STACK_NAME = DEFAULT_APP_NAME;
