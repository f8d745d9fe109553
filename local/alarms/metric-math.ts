/**
 * The part of CloudWatch metric math that alarms can hold: arithmetic, comparison and logical
 * operators, and the functions FILL, IF and ABS, over time series aligned on the alarm's periods.
 * Pure. A series holds one value per period, oldest first; `undefined` is a period without a
 * datapoint.
 *
 * How missing datapoints combine follows CloudWatch: an operator applied to a period where an
 * operand has no datapoint yields no datapoint there (which is what FILL is for), and so does a
 * result that is not a finite number (a division by zero). FILL fills every period of the
 * evaluated range, also when its metric has no datapoint in the range at all. SEARCH and the
 * other functions CloudWatch allows only on graphs (or that Sluice's alarms do not use) are
 * refused by name, never approximated.
 */

export type Series = readonly (number | undefined)[];
export type MathValue = number | Series;

type Token =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'name'; readonly value: string }
  | { readonly kind: 'op'; readonly value: string };

const OPERATORS = ['>=', '<=', '==', '!=', '&&', '||', '+', '-', '*', '/', '^', '>', '<', '(', ')', ','];

export class MetricMathError extends Error {
  override readonly name = 'MetricMathError';
}

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expression.length) {
    const rest = expression.slice(i);
    const space = /^\s+/.exec(rest);
    if (space !== null) {
      i += space[0].length;
      continue;
    }
    const number = /^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(rest);
    if (number !== null) {
      tokens.push({ kind: 'number', value: Number(number[0]) });
      i += number[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (name !== null) {
      tokens.push({ kind: 'name', value: name[0] });
      i += name[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (op === undefined) {
      throw new MetricMathError(
        `metric math: unsupported character ${JSON.stringify(rest[0])} at ${i} in ${JSON.stringify(expression)}`,
      );
    }
    tokens.push({ kind: 'op', value: op });
    i += op.length;
  }
  return tokens;
}

/** An expression, parsed. */
export type MathNode =
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'ref'; readonly id: string }
  | { readonly kind: 'keyword'; readonly name: 'REPEAT' | 'LINEAR' }
  | { readonly kind: 'unary'; readonly op: '-'; readonly operand: MathNode }
  | { readonly kind: 'binary'; readonly op: string; readonly left: MathNode; readonly right: MathNode }
  | { readonly kind: 'call'; readonly name: string; readonly args: readonly MathNode[] };

const SUPPORTED_FUNCTIONS = new Set(['FILL', 'IF', 'ABS']);

/** Binding strength of each binary operator; higher binds tighter. */
const PRECEDENCE: { readonly [op: string]: number } = {
  '||': 1,
  OR: 1,
  '&&': 2,
  AND: 2,
  '==': 3,
  '!=': 3,
  '>': 3,
  '<': 3,
  '>=': 3,
  '<=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '^': 6,
};

export function parseMetricMath(expression: string): MathNode {
  const tokens = tokenize(expression);
  let position = 0;
  const peek = () => tokens[position];
  const fail = (why: string): never => {
    throw new MetricMathError(`metric math: ${why} in ${JSON.stringify(expression)}`);
  };
  const expect = (value: string) => {
    const token = tokens[position];
    if (token?.kind !== 'op' || token.value !== value) fail(`expected ${value}`);
    position += 1;
  };
  const binaryOperator = (): string | undefined => {
    const token = peek();
    if (token === undefined) return undefined;
    if (token.kind === 'op' && token.value in PRECEDENCE) return token.value;
    if (token.kind === 'name' && (token.value === 'AND' || token.value === 'OR')) return token.value;
    return undefined;
  };

  function primary(): MathNode {
    const token = tokens[position];
    if (token === undefined) return fail('unexpected end');
    position += 1;
    if (token.kind === 'number') return { kind: 'number', value: token.value };
    if (token.kind === 'op') {
      if (token.value === '(') {
        const inner = binary(0);
        expect(')');
        return inner;
      }
      if (token.value === '-') return { kind: 'unary', op: '-', operand: binary(PRECEDENCE['^'] ?? 6) };
      return fail(`unexpected ${token.value}`);
    }
    const next = peek();
    if (next?.kind === 'op' && next.value === '(') {
      if (!SUPPORTED_FUNCTIONS.has(token.value)) {
        fail(
          `the function ${token.value} is not evaluated locally (alarms here use ${[...SUPPORTED_FUNCTIONS].join(', ')})`,
        );
      }
      position += 1;
      const args: MathNode[] = [];
      if (!(peek()?.kind === 'op' && peek()?.value === ')')) {
        args.push(binary(0));
        while (peek()?.kind === 'op' && peek()?.value === ',') {
          position += 1;
          args.push(binary(0));
        }
      }
      expect(')');
      return { kind: 'call', name: token.value, args };
    }
    if (token.value === 'REPEAT' || token.value === 'LINEAR') return { kind: 'keyword', name: token.value };
    return { kind: 'ref', id: token.value };
  }

  function binary(minimum: number): MathNode {
    let left = primary();
    for (let op = binaryOperator(); op !== undefined; op = binaryOperator()) {
      const precedence = PRECEDENCE[op] ?? 0;
      if (precedence < minimum) break;
      position += 1;
      // `^` groups to the right, the others to the left.
      const right = binary(op === '^' ? precedence : precedence + 1);
      left = { kind: 'binary', op: op === 'AND' ? '&&' : op === 'OR' ? '||' : op, left, right };
    }
    return left;
  }

  const node = binary(0);
  if (position !== tokens.length) fail(`unexpected ${JSON.stringify(tokens[position])}`);
  return node;
}

function finite(value: number): number | undefined {
  return Number.isFinite(value) ? value : undefined;
}

function applyBinary(op: string, a: number, b: number): number | undefined {
  switch (op) {
    case '+':
      return finite(a + b);
    case '-':
      return finite(a - b);
    case '*':
      return finite(a * b);
    case '/':
      return finite(a / b);
    case '^':
      return finite(a ** b);
    case '>':
      return a > b ? 1 : 0;
    case '<':
      return a < b ? 1 : 0;
    case '>=':
      return a >= b ? 1 : 0;
    case '<=':
      return a <= b ? 1 : 0;
    case '==':
      return a === b ? 1 : 0;
    case '!=':
      return a !== b ? 1 : 0;
    case '&&':
      return a !== 0 && b !== 0 ? 1 : 0;
    case '||':
      return a !== 0 || b !== 0 ? 1 : 0;
    default:
      throw new MetricMathError(`metric math: unknown operator ${op}`);
  }
}

/** Applies `f` period by period; scalars stand for the same value in every period. */
function zip(
  length: number,
  values: readonly MathValue[],
  f: (xs: number[]) => number | undefined,
): MathValue {
  if (values.every((v) => typeof v === 'number')) return f(values as number[]) ?? Number.NaN;
  return Array.from({ length }, (_, i) => {
    const xs = values.map((v) => (typeof v === 'number' ? v : v[i]));
    if (xs.some((x) => x === undefined || Number.isNaN(x))) return undefined;
    return f(xs as number[]);
  });
}

function asSeries(value: MathValue, length: number): Series {
  return typeof value === 'number' ? Array.from({ length }, () => finite(value)) : value;
}

function fill(series: Series, how: MathValue | 'REPEAT' | 'LINEAR'): Series {
  if (typeof how === 'number') return series.map((v) => v ?? how);
  if (how === 'REPEAT' || how === 'LINEAR') {
    const known = series.flatMap((v, i) => (v === undefined ? [] : [i]));
    if (known.length === 0) return series;
    return series.map((v, i) => {
      if (v !== undefined) return v;
      const before = known.filter((k) => k < i).at(-1);
      const after = known.find((k) => k > i);
      const valueAt = (k: number) => series[k] as number;
      if (before === undefined) return valueAt(after as number);
      if (after === undefined || how === 'REPEAT') return valueAt(before);
      return valueAt(before) + ((valueAt(after) - valueAt(before)) * (i - before)) / (after - before);
    });
  }
  // A series as the fill: its value in each period.
  return series.map((v, i) => v ?? how[i]);
}

/**
 * Evaluates `node` over `length` periods; `series` answers each query ID. The result of a
 * constant expression is a series too, the constant in every period.
 */
export function evaluateMetricMath(
  node: MathNode,
  series: (id: string) => MathValue,
  length: number,
): Series {
  const evaluate = (n: MathNode): MathValue | 'REPEAT' | 'LINEAR' => {
    switch (n.kind) {
      case 'number':
        return n.value;
      case 'ref':
        return series(n.id);
      case 'keyword':
        return n.name;
      case 'unary':
        return zip(length, [value(n.operand)], ([x]) => finite(-(x as number)));
      case 'binary':
        return zip(length, [value(n.left), value(n.right)], ([a, b]) =>
          applyBinary(n.op, a as number, b as number),
        );
      case 'call':
        return call(n.name, n.args);
    }
  };
  const value = (n: MathNode): MathValue => {
    const result = evaluate(n);
    if (result === 'REPEAT' || result === 'LINEAR')
      throw new MetricMathError(`metric math: ${result} is only an argument of FILL`);
    return result;
  };
  const call = (name: string, args: readonly MathNode[]): MathValue => {
    const argument = (i: number) => {
      const node = args[i];
      if (node === undefined) throw new MetricMathError(`metric math: ${name} needs argument ${i + 1}`);
      return node;
    };
    switch (name) {
      case 'FILL': {
        if (args.length !== 2) throw new MetricMathError('metric math: FILL takes a series and a value');
        return fill(asSeries(value(argument(0)), length), evaluate(argument(1)));
      }
      case 'IF': {
        if (args.length < 2 || args.length > 3)
          throw new MetricMathError('metric math: IF takes a condition, a value and an optional else value');
        const condition = asSeries(value(argument(0)), length);
        const then = asSeries(value(argument(1)), length);
        // Without an else value, the periods where the condition is false have no datapoint.
        const otherwise = args.length === 3 ? asSeries(value(argument(2)), length) : undefined;
        return condition.map((c, i) => {
          if (c === undefined) return undefined;
          return c !== 0 ? then[i] : otherwise?.[i];
        });
      }
      case 'ABS':
        return zip(length, [value(argument(0))], ([x]) => Math.abs(x as number));
      default:
        throw new MetricMathError(`metric math: the function ${name} is not evaluated locally`);
    }
  };
  return asSeries(value(node), length);
}

/** The query IDs an expression reads. */
export function referencesOf(node: MathNode): string[] {
  switch (node.kind) {
    case 'ref':
      return [node.id];
    case 'unary':
      return referencesOf(node.operand);
    case 'binary':
      return [...referencesOf(node.left), ...referencesOf(node.right)];
    case 'call':
      return node.args.flatMap(referencesOf);
    default:
      return [];
  }
}
