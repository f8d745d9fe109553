/**
 * The VPC a deployment's private-network collectors run in (context `sluice:vpc`). A source that
 * declares private ranges (`network.privateCidrs`) is refused unless the team names it: Sluice
 * never creates a VPC, and never guesses one. The IDs are given, not looked up: a lookup
 * (`Vpc.fromLookup`) needs AWS credentials at synth and a cdk.context.json per account, while a
 * collector needs only its subnets and security group.
 */
import type { App } from 'aws-cdk-lib';
import { z } from 'zod';
import type { SourceDefinition } from '../sources/define.js';

export const VpcPlacement = z
  .object({
    vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'vpcId must look like vpc-0123456789abcdef0'),
    /** Private subnets with a route to the sources' ranges (and, for AWS APIs, a NAT or VPC endpoints). */
    subnetIds: z
      .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'subnet IDs look like subnet-0123456789abcdef0'))
      .min(1)
      .max(16),
    /** Security groups whose egress rules admit the sources' ranges. */
    securityGroupIds: z
      .array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'security group IDs look like sg-0123456789abcdef0'))
      .min(1)
      .max(5),
  })
  .strict();
export type VpcPlacement = z.infer<typeof VpcPlacement>;

const CONTEXT_KEY = 'sluice:vpc';

/** The sources of `sources` that reach private ranges. */
export function privateNetworkSources(sources: readonly SourceDefinition[]): SourceDefinition[] {
  return sources.filter((s) => (s.network?.privateCidrs.length ?? 0) > 0);
}

/**
 * The VPC from context `sluice:vpc` (a JSON object, or its JSON text on the command line), or
 * undefined when no source needs one. Throws with what to set when a source needs one and it is
 * missing or malformed.
 */
export function vpcPlacementOf(app: App, sources: readonly SourceDefinition[]): VpcPlacement | undefined {
  const needing = privateNetworkSources(sources);
  const raw: unknown = app.node.tryGetContext(CONTEXT_KEY);
  const example =
    '{"vpcId": "vpc-0123456789abcdef0", "subnetIds": ["subnet-…", "subnet-…"], "securityGroupIds": ["sg-…"]}';
  if (raw === undefined || raw === null || raw === '') {
    if (needing.length === 0) return undefined;
    throw new Error(
      `${needing.map((s) => `${s.name} (${s.network?.privateCidrs.join(', ')})`).join(', ')} reach private networks, ` +
        `which a deployment refuses unless it names the VPC their collector runs in: set context ${CONTEXT_KEY} in cdk.json to ${example}`,
    );
  }
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new Error(`context ${CONTEXT_KEY} must be JSON like ${example}, got ${raw}`);
    }
  }
  const parsed = VpcPlacement.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`context ${CONTEXT_KEY} is not a VPC placement (${issues}); expected ${example}`);
  }
  return parsed.data;
}
