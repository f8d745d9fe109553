/**
 * Reads the synthesized CloudFormation template and resolves its intrinsic functions against the
 * resources the local environment created. The template is the one description of the
 * infrastructure (DESIGN.md decision 8); nothing here restates it.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const CfnResource = z.object({
  Type: z.string(),
  Properties: z.record(z.string(), z.unknown()).optional(),
  Metadata: z.record(z.string(), z.unknown()).optional(),
  DependsOn: z.union([z.string(), z.array(z.string())]).optional(),
});
export type CfnResource = z.infer<typeof CfnResource>;

export const CfnTemplate = z.object({
  Resources: z.record(z.string(), CfnResource),
  Outputs: z.record(z.string(), z.unknown()).optional(),
  Parameters: z.record(z.string(), z.unknown()).optional(),
});
export type CfnTemplate = z.infer<typeof CfnTemplate>;

export function loadTemplate(path: string): CfnTemplate {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new Error(`cannot read the synthesized template at ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
  return CfnTemplate.parse(json);
}

/** What a created resource answers to `Ref` and `Fn::GetAtt`. */
export interface ResolvedResource {
  readonly ref: string;
  readonly attributes: { readonly [name: string]: string };
}

/** A reference to a resource that has not been created yet; the caller retries after creating more. */
export class UnresolvedReferenceError extends Error {
  override readonly name = 'UnresolvedReferenceError';
  constructor(readonly logicalId: string) {
    super(`resource ${logicalId} is not created yet`);
  }
}

export interface Pseudo {
  readonly region: string;
  readonly accountId: string;
  readonly stackName: string;
  /** @default 'aws' */
  readonly partition?: string;
}

function isObject(value: unknown): value is { [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class IntrinsicResolver {
  constructor(
    private readonly resources: ReadonlyMap<string, ResolvedResource>,
    private readonly pseudo: Pseudo,
    /** What the stacks deployed before this one export, by export name (`Fn::ImportValue`). */
    private readonly imports: ReadonlyMap<string, string> = new Map(),
  ) {}

  private pseudoParameter(name: string): string | undefined {
    switch (name) {
      case 'AWS::Region':
        return this.pseudo.region;
      case 'AWS::AccountId':
        return this.pseudo.accountId;
      case 'AWS::Partition':
        return this.pseudo.partition ?? 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.pseudo.stackName;
      case 'AWS::NoValue':
        return undefined;
      default:
        throw new Error(`unsupported pseudo parameter ${name}`);
    }
  }

  private ref(logicalId: string): string | undefined {
    if (logicalId.startsWith('AWS::')) return this.pseudoParameter(logicalId);
    const resource = this.resources.get(logicalId);
    if (resource === undefined) throw new UnresolvedReferenceError(logicalId);
    return resource.ref;
  }

  private getAtt(logicalId: string, attribute: string): string {
    const resource = this.resources.get(logicalId);
    if (resource === undefined) throw new UnresolvedReferenceError(logicalId);
    const value = resource.attributes[attribute];
    if (value === undefined) throw new Error(`${logicalId} has no attribute ${attribute} locally`);
    return value;
  }

  resolveString(value: unknown): string {
    const resolved = this.resolve(value);
    if (typeof resolved === 'string') return resolved;
    if (typeof resolved === 'number' || typeof resolved === 'boolean') return String(resolved);
    throw new Error(`expected a string, got ${JSON.stringify(resolved)}`);
  }

  /** Resolves every intrinsic function inside `value`, deeply. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const argument = value[key];
      switch (key) {
        case 'Ref':
          return this.ref(String(argument));
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = Array.isArray(argument) ? argument : String(argument).split('.');
          return this.getAtt(String(logicalId), String(attribute));
        }
        case 'Fn::Join': {
          const [separator, parts] = argument as [string, unknown[]];
          return parts.map((p) => this.resolveString(p)).join(separator);
        }
        case 'Fn::Select': {
          const [index, list] = argument as [unknown, unknown];
          const items = this.resolve(list);
          if (!Array.isArray(items)) throw new Error('Fn::Select needs a list');
          return items[Number(this.resolve(index))];
        }
        case 'Fn::Split': {
          const [separator, text] = argument as [string, unknown];
          return this.resolveString(text).split(separator);
        }
        case 'Fn::ImportValue': {
          const exportName = this.resolveString(argument);
          const value = this.imports.get(exportName);
          if (value === undefined) {
            throw new Error(`no stack deployed before this one exports ${exportName}`);
          }
          return value;
        }
        case 'Fn::Sub': {
          const [template, variables] = Array.isArray(argument)
            ? (argument as [string, unknown])
            : [String(argument), {}];
          const bound = isObject(variables) ? variables : {};
          return template.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
            if (name in bound) return this.resolveString(bound[name]);
            const [logicalId, attribute] = name.split('.');
            return attribute === undefined
              ? (this.ref(String(logicalId)) ?? '')
              : this.getAtt(String(logicalId), attribute);
          });
        }
        default:
          if (key.startsWith('Fn::')) throw new Error(`unsupported intrinsic ${key}`);
      }
    }
    return Object.fromEntries(
      Object.entries(value)
        .map(([k, v]) => [k, this.resolve(v)] as const)
        .filter(([, v]) => v !== undefined),
    );
  }
}

const Output = z.object({ Value: z.unknown(), Export: z.object({ Name: z.unknown() }).optional() });

/** What a template's outputs export, resolved against its created resources: export name → value. */
export function exportsOf(template: CfnTemplate, resolver: IntrinsicResolver): Map<string, string> {
  const exported = new Map<string, string>();
  for (const [id, raw] of Object.entries(template.Outputs ?? {})) {
    const output = Output.safeParse(raw);
    if (!output.success) throw new Error(`output ${id} is not an output: ${output.error.message}`);
    if (output.data.Export === undefined) continue;
    exported.set(resolver.resolveString(output.data.Export.Name), resolver.resolveString(output.data.Value));
  }
  return exported;
}
