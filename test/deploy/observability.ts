import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import ts from 'typescript';
import { KNATIVE_DIR, parseYamlFile, REPO_ROOT } from './kustomize.js';

/**
 * What test/deploy/observability.test.ts checks the Grafana dashboard and the
 * PrometheusRule of knative/observability with: the series a running CEX
 * exports (read from its /metrics), every PromQL expression the two
 * documents hold, and a parse of each with Prometheus's own PromQL grammar.
 */

export const OBSERVABILITY_DIR = path.join(KNATIVE_DIR, 'observability');

/** Labels Prometheus and the Prometheus Operator's PodMonitor put on every scraped series. */
export const TARGET_LABELS = ['job', 'instance', 'namespace', 'pod', 'container', 'endpoint'];

/** Series Prometheus makes itself for every scrape target (not exported by CEX). */
export const SYNTHETIC_SERIES = new Map([['up', TARGET_LABELS]]);

/** One series name a query may select, with the label names it can carry. */
export type KnownSeries = Map<string, string[]>;

/**
 * The series names of a Prometheus text exposition (GET /metrics), from its
 * `# TYPE` lines: a histogram is selected as `_bucket` (with `le`), `_sum`
 * and `_count`, a summary as itself (with `quantile`), `_sum` and `_count`.
 * `labels` supplies each family's label names (the code's registry: a family
 * with no series yet shows none in the text).
 */
export function seriesOfExposition(text: string, labels: (family: string) => string[]): KnownSeries {
  const out: KnownSeries = new Map();
  for (const m of text.matchAll(/^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/gm)) {
    const [, family, type] = m as unknown as [string, string, string];
    const own = labels(family);
    if (type === 'histogram') {
      out.set(`${family}_bucket`, [...own, 'le']);
      out.set(`${family}_sum`, own);
      out.set(`${family}_count`, own);
    } else if (type === 'summary') {
      out.set(family, [...own, 'quantile']);
      out.set(`${family}_sum`, own);
      out.set(`${family}_count`, own);
    } else out.set(family, own);
  }
  return out;
}

/** Label names the series lines of an exposition carry, by family (histogram suffixes folded). */
export function labelsInExposition(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const m of text.matchAll(/^([a-zA-Z_:][\w:]*)\{([^}]*)\}/gm)) {
    const family = m[1]!.replace(/_(bucket|sum|count)$/, '');
    const set = out.get(family) ?? new Set<string>();
    for (const l of m[2]!.matchAll(/([a-zA-Z_]\w*)="/g)) if (l[1] !== 'le' && l[1] !== 'quantile') set.add(l[1]!);
    out.set(family, set);
  }
  return out;
}

/** A PromQL expression and where it came from (dashboard panel, variable, alert). */
export interface Query {
  where: string;
  expr: string;
}

/**
 * Grafana's variables in a query made concrete, as Grafana does before it
 * sends it: the interval macros become a duration, `$namespace` (only ever
 * inside a regex matcher here) a regex.
 */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval|__range)\}/g, '5m')
    .replace(/\$\{?\w+\}?/g, '.*');
}

interface DashboardPanel {
  id?: number;
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: { refId?: string; expr?: string; datasource?: { type?: string; uid?: string } }[];
  panels?: DashboardPanel[];
  [key: string]: unknown;
}

export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: { list: { name: string; type: string; query?: unknown; datasource?: { type?: string; uid?: string } }[] };
  [key: string]: unknown;
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(path.join(OBSERVABILITY_DIR, 'cex-dashboard.json'), 'utf8')) as Dashboard;
}

/** Every panel, rows' nested panels included. */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/**
 * The PromQL of a dashboard: each panel target's `expr`, each query
 * variable's `label_values(metric, label)` (as `metric` selecting `label`
 * in a `by`, so the same checks apply) or `query_result(expr)`.
 */
export function dashboardQueries(dashboard: Dashboard): Query[] {
  const out: Query[] = [];
  for (const panel of allPanels(dashboard)) {
    for (const t of panel.targets ?? []) {
      out.push({ where: `panel ${panel.id} "${panel.title}" ${t.refId}`, expr: substituteGrafanaVariables(String(t.expr)) });
    }
  }
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : String((v.query as { query?: string })?.query);
    const labelValues = /^label_values\((.+),\s*([a-zA-Z_]\w*)\)$/.exec(query);
    const queryResult = /^query_result\((.+)\)$/.exec(query);
    const where = `variable ${v.name}`;
    if (labelValues) out.push({ where, expr: `count by (${labelValues[2]}) (${substituteGrafanaVariables(labelValues[1]!)})` });
    else if (queryResult) out.push({ where, expr: substituteGrafanaVariables(queryResult[1]!) });
    else out.push({ where, expr: `unsupported variable query: ${query}` });
  }
  return out;
}

export interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface PrometheusRuleDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: { groups: { name: string; rules: AlertRule[] }[] };
}

export function readPrometheusRule(): PrometheusRuleDoc {
  const [doc] = parseYamlFile(path.join(OBSERVABILITY_DIR, 'prometheus-rule.yaml')) as PrometheusRuleDoc[];
  return doc!;
}

export function ruleQueries(rule: PrometheusRuleDoc): Query[] {
  return rule.spec.groups.flatMap((g) => g.rules.map((r) => ({ where: `${g.name}/${r.alert ?? r.record}`, expr: r.expr })));
}

/** Metric names and label names one expression uses, as Prometheus's grammar reads it. */
export interface ParsedQuery {
  syntaxErrors: string[];
  metrics: string[];
  /** Label names in matchers ({x="..."}) and in by/without/on/ignoring/group_left lists. */
  labels: string[];
  /** What the grammar lets through but Prometheus refuses or answers wrongly (argument kinds). */
  semanticErrors: string[];
}

// Functions whose argument is a range vector (x[5m]); given an instant vector Prometheus refuses the query.
const RANGE_FUNCTIONS = new Set(['Rate', 'Irate', 'Increase', 'Delta', 'Idelta', 'Deriv', 'Changes', 'Resets']);

/** Parses with @prometheus-io/lezer-promql (the grammar of Prometheus's own UI); an error node is a syntax error. */
export function parsePromql(expr: string): ParsedQuery {
  const out: ParsedQuery = { syntaxErrors: [], metrics: [], labels: [], semanticErrors: [] };
  const text = (from: number, to: number) => expr.slice(from, to);
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) {
        out.syntaxErrors.push(
          `syntax error at ${node.from}: …${expr.slice(Math.max(0, node.from - 20), node.from)}⟨here⟩${expr.slice(node.from, node.from + 20)}…`,
        );
      } else if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        out.metrics.push(text(node.from, node.to));
      } else if (node.name === 'FunctionCall') {
        const fn = node.node.getChild('FunctionIdentifier')?.firstChild?.name ?? '';
        const args: { name: string; from: number; to: number; node: typeof node.node }[] = [];
        for (let c = node.node.getChild('FunctionCallBody')?.firstChild; c; c = c.nextSibling)
          args.push({ name: c.name, from: c.from, to: c.to, node: c });
        if (RANGE_FUNCTIONS.has(fn) && !['MatrixSelector', 'SubqueryExpr'].includes(args[0]?.name ?? '')) {
          out.semanticErrors.push(`${text(node.from, node.to)}: needs a range vector`);
        }
        // histogram_quantile over an aggregation that drops `le` has no buckets left to interpolate.
        const inner = args[1];
        if (fn === 'HistogramQuantile' && inner?.name === 'AggregateExpr') {
          const modifier = inner.node.getChild('AggregateModifier');
          const by = modifier?.getChild('By') ? modifier.getChild('GroupingLabels') : null;
          const grouped = [];
          for (let c = by?.firstChild; c; c = c.nextSibling) grouped.push(text(c.from, c.to));
          if (!grouped.includes('le')) out.semanticErrors.push(`${text(node.from, node.to)}: the aggregation must keep \`le\``);
        }
      } else if (node.name === 'LabelName') {
        out.labels.push(text(node.from, node.to));
      } else if (node.name === 'QuotedLabelName' || node.name === 'QuotedLabelMatcher') {
        // {"name"} and {"label"="x"}: not used by CEX's documents; refuse rather than skip a check.
        out.syntaxErrors.push(`quoted metric or label name at ${node.from}: use the plain form`);
      }
    },
  });
  return out;
}

/**
 * Problems of one query: syntax, a selected series nobody exports, a label
 * none of its series carry. Empty when it is sound.
 */
export function queryProblems(query: Query, known: KnownSeries): string[] {
  const parsed = parsePromql(query.expr);
  const problems = [...parsed.syntaxErrors, ...parsed.semanticErrors].map((e) => `${query.where}: ${e}`);
  if (parsed.metrics.length === 0) problems.push(`${query.where}: selects no metric`);
  const allowed = new Set<string>(TARGET_LABELS);
  for (const metric of parsed.metrics) {
    const labels = known.get(metric) ?? SYNTHETIC_SERIES.get(metric);
    if (!labels) problems.push(`${query.where}: metric ${metric} is not exported by CEX`);
    else labels.forEach((l) => allowed.add(l));
  }
  for (const label of new Set(parsed.labels)) {
    if (!allowed.has(label)) problems.push(`${query.where}: label ${label} is on none of ${parsed.metrics.join(', ')}`);
  }
  return problems;
}

/** One JSON value to check against a published TypeScript type. */
export interface TypedValue {
  label: string;
  /** Module that exports the type, as a test file would import it. */
  module: string;
  type: string;
  value: unknown;
}

/**
 * Type-checks JSON values against published TypeScript types (the Grafana
 * dashboard model of @grafana/schema, generated from Grafana's schema), as
 * strict.ts does for Kubernetes objects: each value becomes an object literal
 * of its type, so TypeScript names every unknown field, missing required
 * field and wrong type. String enums of the types are compared by their
 * values (JSON holds "absolute", not ThresholdsMode.Absolute).
 */
export function typeErrors(values: TypedValue[]): string[] {
  const dir = path.join(REPO_ROOT, '.data', `json-types-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'values.ts');
  const imports = new Map<string, string>();
  const owners: { line: number; label: string }[] = [];
  let body = '';
  values.forEach(({ label, module, type, value }, i) => {
    const key = `${module}#${type}`;
    const alias = imports.get(key) ?? `T${imports.size}`;
    imports.set(key, alias);
    owners.push({ line: body.split('\n').length, label });
    body += `export const v${i}: Json<${alias}> = ${JSON.stringify(value, null, 1)};\n`;
  });
  const header = [
    ...[...imports].map(([key, alias]) => `import type { ${key.split('#')[1]} as ${alias} } from '${key.split('#')[0]}';`),
    'type Json<T> = T extends string ? `${T}` : T extends readonly (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T]: Json<T[K]> } : T;',
  ];
  writeFileSync(file, header.join('\n') + '\n' + body);
  try {
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      skipLibCheck: true,
      types: [],
    });
    return ts.getPreEmitDiagnostics(program).map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
      if (!d.file || d.start === undefined) return message;
      const at = d.file.getLineAndCharacterOfPosition(d.start).line;
      const line = at - header.length + 1;
      const owner = [...owners].reverse().find((o) => o.line <= line);
      return `${owner?.label ?? '?'}: ${message} (at ${d.file.text.split('\n')[at]?.trim()})`;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
