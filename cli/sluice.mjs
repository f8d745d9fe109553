#!/usr/bin/env node
// The `sluice` command (package.json "bin"): runs cli/main.ts through tsx's loader, so the CLI
// is the same TypeScript the tests run, with no build step.
import { register } from 'tsx/esm/api';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { runCli } = await import('./main.ts');
const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
});
// SDK clients keep sockets open for reuse; the command is done.
process.exit(code);
