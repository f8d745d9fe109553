/**
 * Composite alarm rules: `ALARM("name or ARN")`, `OK(...)`, `INSUFFICIENT_DATA(...)`, `TRUE`,
 * `FALSE`, combined with AND, OR, NOT and parentheses (CloudWatch's rule syntax, without
 * AT_LEAST, which no Sluice alarm uses and which is refused by name). Pure.
 */
import type { AlarmState } from './alarm-model.js';

export type RuleNode =
  | { readonly kind: 'constant'; readonly value: boolean }
  | { readonly kind: 'state'; readonly state: AlarmState; readonly alarm: string }
  | { readonly kind: 'not'; readonly operand: RuleNode }
  | { readonly kind: 'and' | 'or'; readonly operands: readonly RuleNode[] };

const STATES: readonly AlarmState[] = ['ALARM', 'OK', 'INSUFFICIENT_DATA'];

export class CompositeRuleError extends Error {
  override readonly name = 'CompositeRuleError';
}

/** The alarm name an ALARM(...) argument names: an ARN's last part, or the name itself. */
export function alarmNameOf(reference: string): string {
  const match = /^arn:[^:]+:cloudwatch:[^:]*:[^:]*:alarm:(.+)$/.exec(reference);
  return match?.[1] ?? reference;
}

export function parseCompositeRule(rule: string): RuleNode {
  let i = 0;
  const fail = (why: string): never => {
    throw new CompositeRuleError(`composite rule: ${why} at ${i} in ${JSON.stringify(rule)}`);
  };
  const skip = () => {
    while (i < rule.length && /\s/.test(rule[i] ?? '')) i += 1;
  };
  const word = (): string => {
    skip();
    const match = /^[A-Z_]+/.exec(rule.slice(i));
    return match?.[0] ?? '';
  };
  const take = (text: string) => {
    skip();
    if (!rule.startsWith(text, i)) fail(`expected ${text}`);
    i += text.length;
  };

  function operand(): RuleNode {
    skip();
    if (rule[i] === '(') {
      i += 1;
      const inner = disjunction();
      take(')');
      return inner;
    }
    const name = word();
    if (name === 'NOT') {
      i += name.length;
      return { kind: 'not', operand: operand() };
    }
    if (name === 'TRUE' || name === 'FALSE') {
      i += name.length;
      return { kind: 'constant', value: name === 'TRUE' };
    }
    if ((STATES as readonly string[]).includes(name)) {
      i += name.length;
      take('(');
      skip();
      let reference: string;
      if (rule[i] === '"') {
        const end = rule.indexOf('"', i + 1);
        if (end === -1) fail('unterminated alarm name');
        reference = rule.slice(i + 1, end);
        i = end + 1;
      } else {
        const match = /^[^)\s]+/.exec(rule.slice(i));
        reference = match?.[0] ?? fail('expected an alarm name');
        i += reference.length;
      }
      take(')');
      return { kind: 'state', state: name as AlarmState, alarm: alarmNameOf(reference) };
    }
    return fail(name === '' ? 'expected a state function' : `${name} is not evaluated locally`);
  }

  function conjunction(): RuleNode {
    const operands = [operand()];
    while (word() === 'AND') {
      i += 3;
      operands.push(operand());
    }
    return operands.length === 1 ? (operands[0] as RuleNode) : { kind: 'and', operands };
  }

  function disjunction(): RuleNode {
    const operands = [conjunction()];
    while (word() === 'OR') {
      i += 2;
      operands.push(conjunction());
    }
    return operands.length === 1 ? (operands[0] as RuleNode) : { kind: 'or', operands };
  }

  const node = disjunction();
  skip();
  if (i !== rule.length) fail('unexpected text');
  return node;
}

/** Every alarm a rule names. */
export function alarmsOfRule(node: RuleNode): string[] {
  switch (node.kind) {
    case 'state':
      return [node.alarm];
    case 'not':
      return alarmsOfRule(node.operand);
    case 'and':
    case 'or':
      return node.operands.flatMap(alarmsOfRule);
    default:
      return [];
  }
}

/**
 * Whether the rule holds for the children's current states. A child the rule names that does
 * not exist is INSUFFICIENT_DATA, as in CloudWatch until it is created.
 */
export function ruleHolds(node: RuleNode, stateOf: (alarm: string) => AlarmState | undefined): boolean {
  switch (node.kind) {
    case 'constant':
      return node.value;
    case 'state':
      return (stateOf(node.alarm) ?? 'INSUFFICIENT_DATA') === node.state;
    case 'not':
      return !ruleHolds(node.operand, stateOf);
    case 'and':
      return node.operands.every((o) => ruleHolds(o, stateOf));
    case 'or':
      return node.operands.some((o) => ruleHolds(o, stateOf));
  }
}
