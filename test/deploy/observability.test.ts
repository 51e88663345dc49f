import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../shared/metrics/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startDevHost, type DevHost } from '../helpers/dev-host.js';
import { testNatsUrl, uniqueInstanceName } from '../helpers/nats.js';
import { configMapData, find, workloads } from './deployments.js';
import { readEnvFile } from './generators.js';
import { KNATIVE_DIR, render, type K8sObject } from './kustomize.js';
import {
  allPanels,
  dashboardQueries,
  labelsInExposition,
  parsePromql,
  queryProblems,
  readDashboard,
  readPrometheusRule,
  ruleQueries,
  seriesOfExposition,
  TARGET_LABELS,
  typeErrors,
  type KnownSeries,
  type TypedValue,
} from './observability.js';
import { validateObject } from './schemas.js';

// knative/observability: the Grafana dashboard and the PrometheusRule name
// only series a running CEX exports (read from its GET /metrics), their
// PromQL parses with Prometheus's grammar, and both documents are valid for
// their schemas (Grafana's dashboard model, the Prometheus Operator's CRD).

const dashboard = readDashboard();
const rule = readPrometheusRule();
const rendered = render(path.join(KNATIVE_DIR, 'observability'));
const base = render(path.join(KNATIVE_DIR, 'base'));
/** The workloads of the app: each is a job of the PodMonitor, with `up` per pod. */
const workloadNames = [...new Set(workloads(base).map((w) => w.object.metadata.name))].sort();

describe('metrics named by the dashboard and the alerts', () => {
  let db: TestDatabase;
  let host: DevHost;
  let exposition: string;
  let known: KnownSeries;
  beforeAll(async () => {
    db = await createTestDatabase();
    // The dev host runs every unit in one process and serves the same registry as each function's pod.
    host = await startDevHost({ DATABASE_URL: db.url, NATS_URL: testNatsUrl(), CEX_INSTANCE_NAME: uniqueInstanceName() });
    const res = await fetch(`${host.url}/metrics`);
    expect(res.status).toBe(200);
    exposition = await res.text();
    // Label names: a family without series yet shows none in the text, so
    // they come from the code's registry too (the same families, checked below).
    const declared = new Map(
      createMetrics()
        .registry.getMetricsAsArray()
        .map((m) => [m.name, (m as unknown as { labelNames?: string[] }).labelNames ?? []]),
    );
    const seen = labelsInExposition(exposition);
    known = seriesOfExposition(exposition, (family) => [...new Set([...(declared.get(family) ?? []), ...(seen.get(family) ?? [])])]);
  });
  afterAll(async () => {
    await host?.stop('SIGKILL');
    await db?.drop();
  });

  it('reads the families from the running host: the ones shared/metrics declares, histograms as _bucket, _sum and _count', () => {
    const families = [...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]).sort();
    expect(families).toEqual(
      createMetrics()
        .registry.getMetricsAsArray()
        .map((m) => m.name)
        .sort(),
    );
    expect(known.get('cex_http_request_duration_seconds_bucket')).toEqual(
      expect.arrayContaining(['unit', 'route', 'method', 'status', 'le']),
    );
    expect(known.has('cex_http_request_duration_seconds')).toBe(false);
    expect(known.get('cex_outbox_lag_seconds')).toEqual(['kind']);
  });

  it('every metric and label a dashboard panel or variable names is exported, and every query parses', () => {
    const queries = dashboardQueries(dashboard);
    expect(queries.length).toBeGreaterThan(25);
    expect(queries.flatMap((q) => queryProblems(q, known))).toEqual([]);
  });

  it('every metric and label an alert names is exported, and every expression parses', () => {
    const queries = ruleQueries(rule);
    expect(queries.length).toBeGreaterThanOrEqual(10);
    expect(queries.flatMap((q) => queryProblems(q, known))).toEqual([]);
  });

  it('the check fails on a panel naming a metric that does not exist, a wrong label, a histogram without its suffix, a syntax error, an instant vector to rate(), a quantile without `le`', () => {
    const broken = structuredClone(dashboard);
    const panel = allPanels(broken).find((p) => p.type === 'timeseries')!;
    panel.targets = [
      { refId: 'A', expr: 'sum(rate(cex_commands_deleted_total[$__rate_interval]))' },
      { refId: 'B', expr: 'max by (knd) (cex_outbox_lag_seconds)' },
      { refId: 'C', expr: 'histogram_quantile(0.9, sum by (le) (rate(cex_http_request_duration_seconds[5m])))' },
      { refId: 'D', expr: 'sum(rate(cex_pushes_total[5m])' },
      { refId: 'E', expr: 'sum(rate(cex_pushes_total))' },
      { refId: 'F', expr: 'histogram_quantile(0.9, sum by (route) (rate(cex_http_request_duration_seconds_bucket[5m])))' },
    ];
    const problems = dashboardQueries(broken)
      .flatMap((q) => queryProblems(q, known))
      .join('\n');
    expect(problems).toMatch(/A: metric cex_commands_deleted_total is not exported by CEX/);
    expect(problems).toMatch(/B: label knd is on none of cex_outbox_lag_seconds/);
    expect(problems).toMatch(/C: metric cex_http_request_duration_seconds is not exported by CEX/);
    expect(problems).toMatch(/D: syntax error/);
    expect(problems).toMatch(/E: rate\(cex_pushes_total\): needs a range vector/);
    expect(problems).toMatch(/F: histogram_quantile.*must keep `le`/);
  });

  it('the dashboard shows every family CEX itself defines (cex_*)', () => {
    const used = new Set(
      dashboardQueries(dashboard)
        .flatMap((q) => parsePromql(q.expr).metrics)
        .map((m) => m.replace(/_(bucket|sum|count)$/, '')),
    );
    const cexFamilies = [...exposition.matchAll(/^# TYPE (cex_\S+) /gm)].map((m) => m[1]!);
    expect(cexFamilies.length).toBeGreaterThan(10);
    expect(cexFamilies.filter((f) => !used.has(f))).toEqual([]);
  });
});

describe('the Grafana dashboard', () => {
  const timeseries = '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';
  const stat = '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';

  it("is valid for the dashboard model of @grafana/schema, and each panel for its plugin's options", () => {
    const values: TypedValue[] = [{ label: 'dashboard', module: '@grafana/schema', type: 'Dashboard', value: dashboard }];
    for (const panel of allPanels(dashboard)) {
      const label = `panel ${panel.id} "${panel.title}"`;
      const custom = (panel.fieldConfig as { defaults?: { custom?: unknown } } | undefined)?.defaults?.custom;
      if (panel.type === 'timeseries') {
        values.push({ label: `${label} options`, module: timeseries, type: 'Options', value: panel.options });
        values.push({ label: `${label} field config`, module: timeseries, type: 'FieldConfig', value: custom });
      } else if (panel.type === 'stat') {
        values.push({ label: `${label} options`, module: stat, type: 'Options', value: panel.options });
      } else expect(panel.type, label).toBe('row');
    }
    expect(typeErrors(values)).toEqual([]);
  }, 60_000);

  it('the type check does catch an unknown field, a wrong type and a bad option', () => {
    // One fault per value: TypeScript reports an unknown field only once the rest of the literal fits.
    const misspelt = { ...structuredClone(dashboard), refersh: '30s' };
    const mistyped = { ...structuredClone(dashboard), schemaVersion: '39' };
    const panel = allPanels(dashboard).find((p) => p.type === 'timeseries')!;
    const errors = typeErrors([
      { label: 'misspelt', module: '@grafana/schema', type: 'Dashboard', value: misspelt },
      { label: 'mistyped', module: '@grafana/schema', type: 'Dashboard', value: mistyped },
      {
        label: 'broken options',
        module: timeseries,
        type: 'Options',
        value: { ...(panel.options as object), legend: { displayMode: 'lists' } },
      },
    ]).join('\n');
    expect(errors).toMatch(/misspelt: .*refersh/);
    expect(errors).toMatch(/mistyped: .*not assignable to type 'number'.*schemaVersion/);
    expect(errors).toMatch(/broken options: .*lists/);
  }, 60_000);

  it('reads from a data source chosen by a variable of type prometheus, and uses no variable it does not define', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    const variables = dashboard.templating.list;
    expect(variables.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const names = new Set(variables.map((v) => v.name));
    const datasource = { type: 'prometheus', uid: '${datasource}' };
    for (const v of variables.filter((v) => v.type === 'query')) expect(v.datasource, v.name).toEqual(datasource);
    for (const panel of allPanels(dashboard).filter((p) => p.type !== 'row')) {
      const label = `panel ${panel.id} "${panel.title}"`;
      expect(panel.datasource, label).toEqual(datasource);
      expect(panel.targets?.length, label).toBeGreaterThan(0);
      expect(new Set(panel.targets!.map((t) => t.refId)).size, `${label}: refIds unique`).toBe(panel.targets!.length);
      for (const t of panel.targets!) {
        expect(t.datasource, label).toEqual(datasource);
        for (const m of String(t.expr).matchAll(/\$\{?(\w+)\}?/g)) {
          if (!m[1]!.startsWith('__')) expect(names.has(m[1]!), `${label}: variable $${m[1]}`).toBe(true);
        }
      }
    }
  });

  it('lays its panels out on the 24-column grid with unique ids and no overlap', () => {
    const panels = allPanels(dashboard);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const boxes = panels.map((p) => ({ id: p.id, ...(p.gridPos as { x: number; y: number; w: number; h: number }) }));
    for (const b of boxes) expect(b.x + b.w, `panel ${b.id}`).toBeLessThanOrEqual(24);
    const overlaps = boxes.flatMap((a, i) =>
      boxes
        .slice(i + 1)
        .filter((b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h)
        .map((b) => `${a.id}/${b.id}`),
    );
    expect(overlaps).toEqual([]);
  });

  it('ships as a ConfigMap the Grafana sidecar loads: the file verbatim, labelled grafana_dashboard, a stable name', () => {
    const cm = find(rendered, 'ConfigMap', 'cex-grafana-dashboard');
    expect(cm?.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(JSON.parse(configMapData(rendered, 'cex-grafana-dashboard')['cex-dashboard.json']!)).toEqual(dashboard);
  });
});

describe('the PrometheusRule and the PodMonitor', () => {
  const alerts = rule.spec.groups.flatMap((g) => g.rules);

  it("are valid for the Prometheus Operator's CRD schemas", () => {
    const kinds = rendered.map((o) => o.kind).sort();
    expect(kinds).toEqual(['ConfigMap', 'PodMonitor', 'PrometheusRule']);
    expect(rendered.every((o) => o.metadata.namespace === 'cex')).toBe(true);
    for (const o of rendered) expect(() => validateObject(o), `${o.kind} ${o.metadata.name}`).not.toThrow();
    const broken = structuredClone(find(rendered, 'PrometheusRule', 'cex')!) as unknown as {
      spec: { groups: { rules: { for?: string }[] }[] };
    };
    broken.spec.groups[0]!.rules[0]!.for = 'five minutes';
    expect(() => validateObject(broken as unknown as K8sObject)).toThrow(/for/);
  });

  it('give every alert a unique name, a `for`, a severity, a summary, a description and a runbook note', () => {
    const names = alerts.map((a) => a.alert);
    expect(new Set(names).size).toBe(names.length);
    for (const a of alerts) {
      expect(a.alert, a.expr).toMatch(/^CEX[A-Za-z]+$/);
      expect(a.for, a.alert).toMatch(/^\d+[smh]$/);
      expect(a.labels?.severity, a.alert).toMatch(/^(warning|critical)$/);
      for (const key of ['summary', 'description', 'runbook'])
        expect(a.annotations?.[key]?.length ?? 0, `${a.alert} ${key}`).toBeGreaterThan(10);
    }
  });

  it("template only labels the alert's expression keeps ({{ $labels.x }})", () => {
    for (const a of alerts) {
      const parsed = parsePromql(a.expr);
      // An aggregation keeps only its `by` labels; a bare selector keeps the target labels too.
      const kept = new Set(/\bby\s*\(/.test(a.expr) ? parsed.labels : [...parsed.labels, ...TARGET_LABELS]);
      for (const text of Object.values(a.annotations ?? {})) {
        for (const m of text.matchAll(/\$labels\.(\w+)/g)) expect(kept.has(m[1]!), `${a.alert}: $labels.${m[1]}`).toBe(true);
      }
    }
  });

  it('alert on outbox lag, readiness, error rate, waiter saturation and the callback backlog', () => {
    const selecting = (metric: string, matcher?: RegExp) =>
      alerts.filter((a) => parsePromql(a.expr).metrics.includes(metric) && (!matcher || matcher.test(a.expr))).map((a) => a.alert);
    expect(selecting('cex_outbox_lag_seconds').length).toBeGreaterThan(0);
    expect(selecting('cex_dependency_up').length).toBeGreaterThan(0);
    expect(selecting('up').length).toBeGreaterThan(0);
    expect(selecting('cex_http_request_duration_seconds_count', /status=~"5\.\."/).length).toBeGreaterThan(0);
    expect(selecting('cex_sync_waiters').length).toBeGreaterThan(0);
    expect(selecting('cex_callbacks_total', /outcome="failed"/).length).toBeGreaterThan(0);
  });

  it('alert on waiter saturation at 80 % of the CEX_MAX_WAITERS knative/base sets', () => {
    const maxWaiters = Number(readEnvFile(path.join(KNATIVE_DIR, 'base', 'config.env')).CEX_MAX_WAITERS);
    expect(maxWaiters).toBeGreaterThan(0);
    const saturated = alerts.find((a) => a.alert === 'CEXSyncWaitersSaturated')!;
    expect(Number(/>\s*(\d+)\s*$/.exec(saturated.expr.trim())?.[1])).toBe(Math.round(maxWaiters * 0.8));
    expect(saturated.annotations?.summary).toContain(`limit ${maxWaiters}`);
    const panel = allPanels(dashboard).find((p) => p.title === 'Sync waiters per pod')!;
    const steps = (panel.fieldConfig as { defaults: { thresholds: { steps: { value: number | null }[] } } }).defaults.thresholds.steps;
    expect(steps.map((s) => s.value)).toEqual([null, Math.round(maxWaiters * 0.8), maxWaiters]);
  });

  it('scrape every workload of knative/base on its port, and the `up` selectors name exactly those jobs', () => {
    const podMonitor = find(rendered, 'PodMonitor', 'cex')!.spec as {
      jobLabel: string;
      selector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
      podMetricsEndpoints: { port: string; path: string }[];
    };
    expect(podMonitor.jobLabel).toBe('app.kubernetes.io/name');
    expect(podMonitor.selector.matchExpressions).toEqual([{ key: 'app.kubernetes.io/name', operator: 'In', values: expect.any(Array) }]);
    expect([...podMonitor.selector.matchExpressions[0]!.values].sort()).toEqual(workloadNames);
    for (const w of workloads(base)) {
      // The pods carry the workload's name as app.kubernetes.io/name (the job label).
      const podLabels = (w.object.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
      expect(podLabels['app.kubernetes.io/name'], w.label).toBe(w.object.metadata.name);
      // Knative renames a Service's container port to user-port in its pods; a Deployment keeps its name.
      const port = w.object.kind === 'Deployment' ? w.container.ports?.[0]?.name : 'user-port';
      expect(
        podMonitor.podMetricsEndpoints.map((e) => e.port),
        w.label,
      ).toContain(port);
    }
    expect(podMonitor.podMetricsEndpoints.every((e) => e.path === '/metrics')).toBe(true);
    const jobRegexes = [...dashboardQueries(dashboard), ...ruleQueries(rule)].flatMap((q) =>
      [...q.expr.matchAll(/job=~"([^"]+)"/g)].map((m) => m[1]!),
    );
    expect(jobRegexes.length).toBeGreaterThan(0);
    for (const regex of jobRegexes) expect(regex.split('|').sort()).toEqual(workloadNames);
    for (const q of ruleQueries(rule)) for (const m of q.expr.matchAll(/job="([^"]+)"/g)) expect(workloadNames, q.where).toContain(m[1]);
  });
});
