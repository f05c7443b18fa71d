/**
 * The alert rule files (charts/eshop-platform/files/rules/*.yaml, the one copy the chart packages and promtool
 * tests), promtool, and the bit of PromQL text handling the Prometheus test needs to find each alert's signal.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const ROOT = path.resolve(__dirname, '../../..');
export const RULES_DIR = path.join(ROOT, 'charts/eshop-platform/files/rules');
export const RULE_TESTS_DIR = path.join(RULES_DIR, 'tests');

export interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
export interface RuleGroup {
  name: string;
  rules: Rule[];
}
export interface RuleFile {
  file: string;
  groups: RuleGroup[];
}

const yamlIn = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(dir, f));

export const ruleFilePaths = (): string[] => yamlIn(RULES_DIR);
export const ruleTestPaths = (): string[] => (existsSync(RULE_TESTS_DIR) ? yamlIn(RULE_TESTS_DIR) : []);

export function loadRuleFiles(): RuleFile[] {
  return ruleFilePaths().map((file) => ({ file, groups: (parse(readFileSync(file, 'utf8')) as { groups: RuleGroup[] }).groups }));
}

export const allRules = (): Rule[] => loadRuleFiles().flatMap((f) => f.groups.flatMap((g) => g.rules));

/** promtool: $PROMTOOL, else the one on PATH (Debian `prometheus`, installed by `local/platform.sh deps`). */
export function binary(name: 'promtool' | 'prometheus'): string {
  const fromEnv = process.env[name.toUpperCase()];
  if (fromEnv) return fromEnv;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} not found on PATH: run \`local/platform.sh deps\` (installs Debian's prometheus, which ships ${name}) or set ${name.toUpperCase()}`);
}

/** Runs promtool; returns its output, or throws with it. */
export function promtool(args: string[]): string {
  try {
    return execFileSync(binary('promtool'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

// ------------------------------------------------------------------------------------------------ PromQL text

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'atan2', 'inf', 'nan']);
const SET_OPS = new Set(['and', 'or', 'unless']);
const COMPARISONS = ['==', '!=', '>=', '<=', '>', '<'];

interface Token {
  kind: 'ident' | 'op' | 'other';
  text: string;
  start: number;
  end: number;
  depth: number;
}

/** Splits PromQL into identifiers, comparison/set operators and the rest, with the bracket depth of each. */
function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let depth = 0;
  let braces = 0;
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] as string;
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += expr[j] === '\\' && c !== '`' ? 2 : 1;
      tokens.push({ kind: 'other', text: expr.slice(i, j + 1), start: i, end: j + 1, depth });
      i = j + 1;
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
    } else if ('({['.includes(c)) {
      tokens.push({ kind: 'other', text: c, start: i, end: i + 1, depth });
      if (c === '{') braces++;
      depth++;
      i++;
    } else if (')}]'.includes(c)) {
      if (c === '}') braces--;
      depth--;
      tokens.push({ kind: 'other', text: c, start: i, end: i + 1, depth });
      i++;
    } else if (/[A-Za-z_:]/.test(c)) {
      const m = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(expr.slice(i))![0];
      tokens.push({ kind: 'ident', text: m, start: i, end: i + m.length, depth });
      i += m.length;
    } else {
      const op = COMPARISONS.find((o) => expr.startsWith(o, i));
      if (op && braces === 0) {
        tokens.push({ kind: 'op', text: op, start: i, end: i + op.length, depth });
        i += op.length;
      } else {
        if (!/\s/.test(c)) tokens.push({ kind: 'other', text: c, start: i, end: i + 1, depth });
        i++;
      }
    }
  }
  return tokens;
}

/** Metric names an expression reads (selectors with or without braces), recording-rule names included. */
export function metricNamesIn(expr: string): string[] {
  const tokens = tokenize(expr);
  const names = new Set<string>();
  let insideBraces = 0;
  let insideBrackets = 0;
  tokens.forEach((t, i) => {
    if (t.text === '{') insideBraces++;
    if (t.text === '}') insideBraces--;
    if (t.text === '[') insideBrackets++;
    if (t.text === ']') insideBrackets--;
    if (t.kind !== 'ident' || insideBraces > 0 || insideBrackets > 0 || KEYWORDS.has(t.text)) return;
    const next = tokens[i + 1]?.text ?? '';
    if (next === '(' || next === 'by' || next === 'without') return; // function or aggregation
    if (['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'].includes(grouping(tokens, i))) return; // label list
    const prev = tokens[i - 1];
    if (prev && /^\d$/.test(prev.text) && prev.end === t.start) return; // unit of a duration (offset 5m)
    names.add(t.text);
  });
  return [...names];
}

/** The grouping keyword whose label list (…) contains token i, if any. */
function grouping(tokens: Token[], i: number): string {
  for (let j = i - 1; j >= 0; j--) {
    const t = tokens[j] as Token;
    if (t.text === ')') return '';
    if (t.text === '(') return tokens[j - 1]?.text ?? '';
  }
  return '';
}

/**
 * The "signal" of a rule expression: the operands that must return data when the services run, with the
 * alert's thresholds taken off. Top-level `and`/`or`/`unless` split the expression into operands (a
 * following on(…)/ignoring(…)/group_x(…) modifier is dropped); in each, a top-level comparison keeps its
 * left side (and its right side when that reads a metric); `absent(x)` becomes `x`.
 */
export function signalExpressions(expr: string): string[] {
  const operands = splitTopLevel(expr, (t) => t.kind === 'ident' && SET_OPS.has(t.text));
  return operands.flatMap((operand) => {
    const sides = splitTopLevel(operand, (t) => t.kind === 'op');
    return sides
      .map((s) => s.replace(/^\s*bool\b/, '').trim())
      .filter((s, i) => i === 0 || metricNamesIn(s).length > 0)
      .map(unwrapAbsent);
  });
}

function splitTopLevel(expr: string, isSplit: (t: Token) => boolean): string[] {
  const tokens = tokenize(expr);
  const parts: string[] = [];
  let from = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    if (t.depth !== 0 || !isSplit(t)) continue;
    parts.push(expr.slice(from, t.start));
    from = t.end;
    // Vector-matching modifiers after the operator: on (...), ignoring (...), group_left (...), bool.
    while (['on', 'ignoring', 'group_left', 'group_right', 'bool'].includes(tokens[i + 1]?.text ?? '')) {
      i++;
      from = (tokens[i] as Token).end;
      if (tokens[i + 1]?.text === '(') {
        const close = tokens.findIndex((x, k) => k > i && x.text === ')' && x.depth === 0);
        i = close;
        from = (tokens[close] as Token).end;
      }
    }
  }
  parts.push(expr.slice(from));
  return parts.map((p) => p.trim()).filter(Boolean);
}

function unwrapAbsent(expr: string): string {
  const m = /^absent(?:_over_time)?\s*\(([\s\S]*)\)$/.exec(expr.trim());
  return m ? (m[1] as string).trim() : expr;
}
