// Kubernetes label selectors (matchLabels + matchExpressions), read from untyped YAML and matched.
// An empty selector matches everything, as in Kubernetes.
import { list, record, string, stringMap } from './read.ts';

export type Operator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface Requirement {
  key: string;
  operator: Operator;
  values: readonly string[];
}

export interface LabelSelector {
  matchLabels: Readonly<Record<string, string>>;
  matchExpressions: readonly Requirement[];
}

const OPERATORS: readonly string[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** The selector, or a message saying what is wrong with it. */
export function readSelector(value: unknown): LabelSelector | string {
  const fields = record(value);
  if (!fields) return 'a label selector must be a mapping';
  const matchExpressions: Requirement[] = [];
  for (const [i, item] of list(fields.matchExpressions).entries()) {
    const key = string(record(item)?.key);
    const operator = string(record(item)?.operator);
    const values = list(record(item)?.values).filter((v): v is string => typeof v === 'string');
    if (!key) return `matchExpressions[${i}] has no key`;
    if (!operator || !OPERATORS.includes(operator)) return `matchExpressions[${i}]: operator must be one of ${OPERATORS.join(', ')}`;
    const needsValues = operator === 'In' || operator === 'NotIn';
    if (needsValues && values.length === 0) return `matchExpressions[${i}]: operator ${operator} needs values`;
    if (!needsValues && values.length > 0) return `matchExpressions[${i}]: operator ${operator} takes no values`;
    matchExpressions.push({ key, operator: operator as Operator, values });
  }
  const matchLabels = record(fields.matchLabels ?? {});
  // An unquoted `true` must not vanish from the selector: that would widen it to match more.
  if (!matchLabels || Object.values(matchLabels).some((v) => typeof v !== 'string')) {
    return 'matchLabels must map strings to strings (quote values like "true")';
  }
  return { matchLabels: stringMap(matchLabels), matchExpressions };
}

export function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  // for-in rather than Object.entries: this runs once per candidate Service, and allocates nothing.
  for (const key in selector.matchLabels) if (labels[key] !== selector.matchLabels[key]) return false;
  for (const { key, operator, values } of selector.matchExpressions) {
    const has = Object.hasOwn(labels, key);
    switch (operator) {
      case 'In':
        if (!has || !values.includes(labels[key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default: {
        const never: never = operator;
        throw new Error(`unknown operator ${String(never)}`);
      }
    }
  }
  return true;
}
