/**
 * Builds the Sluice app the way `cdk synth` does, minus esbuild bundling, and reads the resulting
 * CloudFormation templates (the core stack's and every source stack's) through small zod schemas
 * so the infra tests never cast template JSON.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { z } from 'zod';
import { type BuildOptions, buildApp, type SluiceApp } from '../../infra/app.js';
import type { CoreStack } from '../../infra/core-stack.js';
import type { SourceStack } from '../../infra/source-stack.js';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RUNBOOK_BASE_URL = 'https://example.com/runbooks';

const CdkJson = z.object({ context: z.record(z.string(), z.unknown()) });

/**
 * The feature flags in cdk.json change the template (bucket policies instead of ACLs, minimized
 * IAM policies), and only the CDK CLI reads that file; tests load it so they see what deploys.
 */
export function cdkJsonContext(): Record<string, unknown> {
  return CdkJson.parse(JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8'))).context;
}

export interface SluiceAppOptions extends BuildOptions {
  readonly outdir?: string;
  /** Context on top of cdk.json's. @default - none */
  readonly context?: { readonly [key: string]: unknown };
}

/** The Sluice app with cdk.json's context, no asset bundling and a fixed runbook base URL. */
export function sluiceApp(options: SluiceAppOptions = {}): SluiceApp {
  const app = new App({
    ...(options.outdir === undefined ? {} : { outdir: options.outdir }),
    // cfn-lint.test.ts validates the templates; the built-in validator would repeat it in every test.
    builtinCloudFormationValidation: false,
    context: {
      ...cdkJsonContext(),
      'aws:cdk:bundling-stacks': [],
      'sluice:runbookBaseUrl': RUNBOOK_BASE_URL,
      ...options.context,
    },
  });
  return buildApp(app, options);
}

export const CfnResource = z.object({
  Type: z.string(),
  Properties: z.record(z.string(), z.unknown()).default({}),
  Metadata: z.record(z.string(), z.unknown()).optional(),
  DeletionPolicy: z.string().optional(),
  UpdateReplacePolicy: z.string().optional(),
});
export type CfnResource = z.infer<typeof CfnResource>;
export type Resources = ReadonlyMap<string, CfnResource>;

const TemplateJson = z.object({
  Resources: z.record(z.string(), CfnResource),
  Outputs: z.record(z.string(), z.unknown()).optional(),
});

export interface SynthesizedStack<S extends Stack = Stack> {
  readonly stack: S;
  readonly name: string;
  readonly template: Template;
  readonly resources: Resources;
}

export interface SynthesizedSluice {
  readonly app: SluiceApp;
  readonly core: SynthesizedStack<CoreStack>;
  readonly sourceStacks: readonly SynthesizedStack<SourceStack>[];
  /** The core stack, then the source stacks. */
  readonly stacks: readonly SynthesizedStack[];
  /** The source stack a source is deployed in. */
  stackOf(source: string): SynthesizedStack<SourceStack>;
}

/**
 * Synthesizes once, in memory, and reads every stack's template from the assembly; the cloud
 * assembly CDK writes on the way is removed, not left in /tmp.
 */
export function synthesizeSluice(options: Omit<SluiceAppOptions, 'outdir'> = {}): SynthesizedSluice {
  const outdir = mkdtempSync(join(tmpdir(), 'sluice-infra-test-'));
  try {
    const app = sluiceApp({ ...options, outdir });
    const assembly = app.app.synth();
    const read = <S extends Stack>(stack: S): SynthesizedStack<S> => {
      const json = assembly.getStackByName(stack.stackName).template as unknown;
      return {
        stack,
        name: stack.stackName,
        template: Template.fromJSON(json as { [key: string]: unknown }),
        resources: new Map(Object.entries(TemplateJson.parse(json).Resources)),
      };
    };
    const core = read(app.core);
    const sourceStacks = app.sourceStacks.map(read);
    return {
      app,
      core,
      sourceStacks,
      stacks: [core, ...sourceStacks],
      stackOf(source: string) {
        const found = sourceStacks.find((s) => s.stack.pipelines.has(source));
        if (found === undefined) throw new Error(`no source stack holds ${source}`);
        return found;
      },
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The template's logical ID of an L2 construct's underlying CloudFormation resource. */
export function logicalIdOf(construct: IConstruct): string {
  const child = construct.node.defaultChild;
  if (!(child instanceof CfnElement))
    throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(child);
}

export function resourceById(resources: Resources, logicalId: string): CfnResource {
  const resource = resources.get(logicalId);
  if (resource === undefined) throw new Error(`the template has no resource ${logicalId}`);
  return resource;
}

export function resourcesOfType(resources: Resources, type: string): [string, CfnResource][] {
  return [...resources].filter(([, resource]) => resource.Type === type);
}

const Ref = z.object({ Ref: z.string() }).strict();
const GetAtt = z.object({ 'Fn::GetAtt': z.tuple([z.string(), z.string()]) }).strict();

/** The logical ID in `{ Ref: id }`, or undefined for anything else. */
export function refTarget(value: unknown): string | undefined {
  const parsed = Ref.safeParse(value);
  return parsed.success ? parsed.data.Ref : undefined;
}

/** The logical ID in `{ 'Fn::GetAtt': [id, attribute] }`, or undefined for anything else. */
export function getAttTarget(value: unknown, attribute: string): string | undefined {
  const parsed = GetAtt.safeParse(value);
  if (!parsed.success) return undefined;
  const [logicalId, attr] = parsed.data['Fn::GetAtt'];
  return attr === attribute ? logicalId : undefined;
}

const Tags = z.array(z.object({ Key: z.string(), Value: z.string() })).default([]);

export function tagsOf(resource: CfnResource): Record<string, string> {
  return Object.fromEntries(Tags.parse(resource.Properties.Tags).map((tag) => [tag.Key, tag.Value]));
}

const EventSourceMappingProps = z.object({
  EventSourceArn: z.unknown(),
  FunctionName: z.unknown(),
  FunctionResponseTypes: z.array(z.string()).optional(),
  ScalingConfig: z.object({ MaximumConcurrency: z.number().optional() }).optional(),
});

export interface QueueConsumer {
  readonly mappingId: string;
  readonly queueId: string;
  readonly functionId: string;
  readonly functionResponseTypes: readonly string[];
  readonly maximumConcurrency: number | undefined;
}

/** Every SQS event source mapping in a template, resolved to the queue and function it joins. */
export function queueConsumers(resources: Resources): QueueConsumer[] {
  // The change feed's mapping reads a table's stream, not a queue.
  const fromQueues = resourcesOfType(resources, 'AWS::Lambda::EventSourceMapping').filter(
    ([, mapping]) => getAttTarget(mapping.Properties.EventSourceArn, 'StreamArn') === undefined,
  );
  return fromQueues.map(([mappingId, mapping]) => {
    const props = EventSourceMappingProps.parse(mapping.Properties);
    const queueId = getAttTarget(props.EventSourceArn, 'Arn');
    const functionId = refTarget(props.FunctionName);
    if (queueId === undefined || functionId === undefined) {
      throw new Error(`${mappingId} does not join a queue of this template to a function of this template`);
    }
    return {
      mappingId,
      queueId,
      functionId,
      functionResponseTypes: props.FunctionResponseTypes ?? [],
      maximumConcurrency: props.ScalingConfig?.MaximumConcurrency,
    };
  });
}

/** The functions built from a Sluice entry file (the CDK's own helper functions carry none). */
export function sluiceFunctions(resources: Resources): [string, CfnResource][] {
  return resourcesOfType(resources, 'AWS::Lambda::Function').filter(
    ([, fn]) => typeof fn.Metadata?.['sluice:entry'] === 'string',
  );
}
