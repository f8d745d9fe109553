/**
 * `sluice credentials set <source>`: puts a source's login or token into its secret
 * (`<app>/<source>/login`), in AWS or, with `--local`, in the emulator of `npm start -- --keep`.
 *
 * What it asks for follows what the source declares (sources/define.ts `credentialShapeOf`): a
 * username and a password for a login form, basic auth or a portal; a token for a bearer token or
 * an API key. The value is checked against the same schema the collector reads it with before it
 * is written, and it is never printed: not in the output, not in an error.
 */
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SECRET_FIELDS, SECRET_SCHEMAS } from '../../functions/adapters/source-credentials.js';
import { type CredentialShape, credentialShapeOf, type SourceDefinition } from '../../sources/define.js';
import { fixtureSources, sources } from '../../sources/registry.js';
import { CliError, type SluiceTarget } from '../target.js';

/** Asks for one field's value; `secret` values are read without echo. */
export type AskValue = (field: string, secret: boolean) => Promise<string>;

export interface CredentialsSet {
  readonly source: string;
  readonly secretId: string;
  readonly fields: readonly string[];
  readonly versionId: string | undefined;
}

/** The shape of `source`'s secret, or a clear error when it has none. */
export function credentialShapeFor(
  source: string | undefined,
  definitions: readonly SourceDefinition[] = [...sources, ...fixtureSources],
): CredentialShape {
  const signing = definitions.filter((s) => credentialShapeOf(s) !== undefined);
  const known = `sources that sign in: ${signing.map((s) => s.name).join(', ') || 'none'}`;
  if (source === undefined) throw new CliError(`usage: sluice credentials set <source>; ${known}`, 2);
  const definition = definitions.find((s) => s.name === source);
  if (definition === undefined) throw new CliError(`no source is called ${source}; ${known}`, 2);
  const shape = credentialShapeOf(definition);
  if (shape === undefined) {
    throw new CliError(
      `${source} signs in nowhere, so it has no secret: give it \`auth\` (HTTP) or \`login\` (browser) in sources/${source}/source.ts; ${known}`,
      2,
    );
  }
  return shape;
}

export async function setCredentials(
  target: SluiceTarget,
  source: string | undefined,
  ask: AskValue,
  /** Where the source is defined. @default the registry */
  definitions?: readonly SourceDefinition[],
): Promise<CredentialsSet> {
  const shape = credentialShapeFor(source, definitions);
  const name = source as string;
  const secretId = target.resources.loginSecrets.get(name);
  if (secretId === undefined) {
    throw new CliError(
      `${target.description} has no secret for ${name}: deploy the stacks with it first (or restart \`npm start -- --keep\`)`,
    );
  }
  const value: { [field: string]: string } = {};
  for (const [field, secret] of SECRET_FIELDS[shape]) value[field] = await ask(field, secret);
  const parsed = SECRET_SCHEMAS[shape].safeParse(value);
  if (!parsed.success) {
    const empty = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
    throw new CliError(`nothing was written: ${empty} must not be empty`, 2);
  }
  const written = await target.clients.secrets.send(
    new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(parsed.data) }),
  );
  return {
    source: name,
    secretId,
    fields: SECRET_FIELDS[shape].map(([field]) => field),
    versionId: written.VersionId,
  };
}

export function renderCredentialsSet(done: CredentialsSet, description: string): string {
  return [
    `set ${done.fields.join(' and ')} of ${done.source} in ${done.secretId}${done.versionId ? ` (version ${done.versionId})` : ''}`,
    `  on ${description}`,
    '  collectors read it within 5 minutes; a login the site refused is read again at once',
  ].join('\n');
}
