/**
 * Private networks on purpose: a source that declares private ranges is refused until the
 * deployment names the VPC its collector runs in; then it gets a collector of its own in that VPC
 * (the other sources' collectors stay out of it), with exactly the rights Lambda needs for its
 * network interfaces, and the template passes cdk-nag and cfn-lint.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { workflowDocument } from '../../scripts/generate-operations-docs.js';
import { renderLimits, runLimits } from '../../scripts/limits.js';
import { defineSource } from '../../sources/define.js';
import { demoCatalog } from '../../sources/demo-catalog/source.js';
import { type SluiceAppOptions, sluiceApp } from './sluice-template.js';

const VPC = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
  securityGroupIds: ['sg-0123456789abcdef0'],
};

const intranet = defineSource({
  ...demoCatalog,
  name: 'intranet-prices',
  origin: 'https://prices.corp.internal',
  allowedHosts: ['prices.corp.internal'],
  network: { privateCidrs: ['10.20.0.0/16'] },
});

const Resources = z.record(z.string(), z.object({ Type: z.string(), Properties: z.unknown() }));
const LambdaFunction = z.object({
  Properties: z.object({
    Description: z.string(),
    VpcConfig: z.object({ SubnetIds: z.array(z.string()), SecurityGroupIds: z.array(z.string()) }).optional(),
  }),
});

let outdir: string;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'sluice-vpc-'));
});

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

function synth(options: SluiceAppOptions) {
  const built = sluiceApp({ outdir, ...options });
  built.app.synth();
  return built;
}

describe('a source that reaches a private network', () => {
  it('is refused when the deployment names no VPC, with what to set', () => {
    expect(() => sluiceApp({ extraSources: [intranet] })).toThrow(
      /intranet-prices \(10\.20\.0\.0\/16\) reach private networks, which a deployment refuses unless it names the VPC .* context sluice:vpc/,
    );
  });

  it('is refused when the VPC is named wrong', () => {
    expect(() =>
      sluiceApp({ extraSources: [intranet], context: { 'sluice:vpc': { ...VPC, subnetIds: ['nope'] } } }),
    ).toThrow(/context sluice:vpc is not a VPC placement \(subnetIds\.0: subnet IDs look like/);
  });

  it('cannot declare a range that is not private', () => {
    for (const cidr of [
      '169.254.169.254/32',
      '127.0.0.0/8',
      '8.8.8.0/24',
      '10.0.0.0/7',
      'fe80::/10',
      'nonsense',
    ]) {
      expect(() => defineSource({ ...intranet, network: { privateCidrs: [cidr] } }), cidr).toThrow(
        /network\.privateCidrs: /,
      );
    }
  });

  describe('with the VPC named', () => {
    let built: ReturnType<typeof synth>;

    beforeAll(() => {
      built = synth({ extraSources: [intranet], context: { 'sluice:vpc': VPC } });
    });

    it('gets a collector of its own in that VPC; the other collectors stay out of it', () => {
      const stack = built.sourceStacks.find((s) => s.sources.includes(intranet));
      if (stack === undefined) throw new Error('intranet-prices has no stack');
      const resources = Resources.parse(built.app.synth().getStackByName(stack.stackName).template.Resources);
      const functions = Object.values(resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .map((r) => LambdaFunction.parse(r));
      const collectors = functions.filter((f) => f.Properties.Description.startsWith('Sluice collector'));
      const inVpc = collectors.filter((f) => f.Properties.VpcConfig !== undefined);

      expect(inVpc.map((f) => f.Properties.Description)).toEqual([
        'Sluice collector: plain HTTP, in the VPC',
      ]);
      expect(inVpc[0]?.Properties.VpcConfig).toEqual({
        SubnetIds: VPC.subnetIds,
        SecurityGroupIds: VPC.securityGroupIds,
      });
      expect(stack.collectors.get('http-vpc')?.sources.map((s) => s.name)).toEqual(['intranet-prices']);
      expect(stack.collectors.get('http')?.sources.map((s) => s.name)).not.toContain('intranet-prices');
    });

    it('is named in its workflow map, with its ranges and the VPC', () => {
      expect(workflowDocument(intranet, 'Sluice', 'Sluice-Sources-01')).toContain(
        '- Network: **private ranges `10.20.0.0/16`** besides public addresses: its collector runs in the VPC named by the context `sluice:vpc`',
      );
    });

    it('is named in the limits report, with its ranges and stack', async () => {
      const report = await runLimits({
        extraSources: [intranet],
        context: { 'sluice:vpc': VPC },
        lint: 'none',
      });

      expect(report.privateNetworks).toEqual([
        { source: 'intranet-prices', stack: 'Sluice-Sources-01', cidrs: ['10.20.0.0/16'] },
      ]);
      expect(renderLimits(report)).toMatch(
        /private networks: 1 source\(s\), collected in the VPC named by sluice:vpc:\n {2}intranet-prices +Sluice-Sources-01 +10\.20\.0\.0\/16/,
      );
    });

    it('passes cfn-lint', () => {
      const files = built.stacks.map((s) => join(outdir, s.templateFile));
      const lint = spawnSync(
        'cfn-lint',
        ['--format', 'parseable', '--regions', 'us-east-1', '--ignore-checks', 'W3005', '--', ...files],
        { encoding: 'utf8' },
      );

      expect(`${lint.error?.message ?? ''}${lint.stdout}${lint.stderr}`.trim()).toBe('');
      expect(lint.status).toBe(0);
    });
  });
});
