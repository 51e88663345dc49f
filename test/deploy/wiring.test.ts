import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, FUNCTION_TARGETS, INTERNAL_CREDENTIAL_TARGETS, loadConfig } from '../../shared/config/index.js';
import { UNITS } from '../../functions/index.js';
import { compileRoute, matchRoute } from '../../shared/http/router.js';
import { isStreamRoute, unitPart, type UnitRoute } from '../../shared/host/units.js';
import {
  configMapData,
  deployments,
  unitRoutesOf,
  generatedConfigMap,
  environmentOf,
  find,
  isKnativeService,
  revisionSpec,
  templateAnnotations,
  workloads,
} from './deployments.js';
import { routeRequest, samplePath, type Routed, type VirtualServiceSpec } from './ingress.js';
import { routeHttpRoute, type HTTPRouteSpec } from './gateway-route.js';
import { parseYamlFile, REPO_ROOT } from './kustomize.js';
import { SECTION_8 as CONTRACT } from './config-contract.js';
import { TRACING_VARIABLES } from '../../shared/tracing/index.js';

// The manifests against the code: targets that exist, variables the config
// schema reads, probes the host serves, function URLs and ingress routes that
// reach the unit owning them, and timeouts that fit the shutdown sequence.

/** The settings of Kaa's CEX contract, in its order (config-contract.ts carries the facts; docs/configuration.md describes them). */
const SECTION_8 = CONTRACT.map((v) => v.name);
const SECRET_VARIABLES = [
  'DATABASE_URL',
  'DATABASE_LISTEN_URL',
  'CEX_SERVICE_TOKEN',
  'CEX_CALLBACK_SECRET',
  'CEX_INTERNAL_TOKEN',
  'CEX_INTERNAL_TOKEN_ALT',
];
/** The internal credential: only on the workloads that send or take internal requests. */
const INTERNAL_SECRETS = ['CEX_INTERNAL_TOKEN', 'CEX_INTERNAL_TOKEN_ALT'];
/** Set on each workload, never shared through the ConfigMap. */
const PER_WORKLOAD = ['PORT', 'FUNCTION_TARGET', 'CEX_REPLICA_ID', 'CEX_UNIT_ROUTES'];
/** The Knative Services that serve part of a unit (CEX_UNIT_ROUTES), each named `{unit}-{part}`. */
const PARTIAL_SERVICES = ['command-submit-events', 'command-lookup-streams'];
/** What EventSource, the console and `npx cex` send for a stream (the Gateway API variant routes on it). */
const SSE_HEADERS = { Accept: 'text/event-stream' };
const headersFor = (r: UnitRoute): Record<string, string> => (isStreamRoute(r) ? SSE_HEADERS : {});
const CONFIG_MAP = 'cex-config';
const SECRET = 'cex-secrets';
/** Knative's queue-proxy drains up to this long before SIGTERM reaches the user container. */
const KNATIVE_DRAIN_SECONDS = 30;
/** Reserved by Knative on revisions (its webhook rejects them). */
const KNATIVE_RESERVED_ENV = ['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION'];

/** Paths whose segments look like literals elsewhere in the table. */
const AMBIGUOUS_LOOKING = [
  { unit: 'command-lookup', method: 'GET', path: '/api/v1/endpoints/commands/commands/batch/7' },
  { unit: 'command-lookup', method: 'DELETE', path: '/api/v1/endpoints/batch/commands/tasks/7' },
  { unit: 'command-submit', method: 'POST', path: '/api/v1/endpoints/events/commands/batch' },
  { unit: 'history-listing', method: 'GET', path: '/api/v1/endpoints/commands/batch' },
  { unit: 'history-listing', method: 'GET', path: '/api/v1/endpoints/commands/events' },
  { unit: 'history-listing', method: 'HEAD', path: '/api/v1/endpoints/commands/smart-meter/' },
];

const NOT_EXPOSED = [
  ['GET', '/cex/healthz'],
  ['GET', '/cex/readyz'],
  ['GET', '/cex/metrics'],
  ['GET', '/cex/openapi.json'],
  ['POST', '/cex/cloudevents'],
  ['POST', '/cex/api/v1/endpoints/e-1/commands/reboot/7'],
  ['PUT', '/cex/api/v1/endpoints/e-1/commands/reboot'],
  ['GET', '/api/v1/endpoints/e-1/commands/reboot/7'],
  ['GET', '/cex/api/v2/endpoints/commands'],
];

const units = UNITS;
const unitNames = units.map((u) => u.name);

describe('the configuration reference', () => {
  it('docs/configuration.md describes every variable the config schema reads', () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8');
    const described = new Set([...doc.matchAll(/^\| `([A-Z][A-Z0-9_]+)`/gm)].map((m) => m[1]));
    expect(CONFIG_VARIABLES.filter((v) => !described.has(v))).toEqual([]);
  });

  it('docs/configuration.md describes every OTEL_* variable tracing honours', () => {
    const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8');
    expect(TRACING_VARIABLES.filter((v) => !doc.includes(`\`${v}\``))).toEqual([]);
  });

  it('every Kaa setting is read by the config schema', () => {
    expect(SECTION_8.filter((v) => !CONFIG_VARIABLES.includes(v))).toEqual([]);
  });

  it('gives each §8 variable the default the contract names', () => {
    const config = loadConfig({}) as unknown as Record<string, unknown>;
    for (const v of CONTRACT.filter((c) => c.default)) expect(config[v.default!.key], v.name).toBe(v.default!.value);
  });

  it('stops at a malformed value with a message naming the variable', () => {
    for (const name of [
      'PORT',
      'CEX_COMMAND_TTL_MILLIS',
      'CEX_MAX_AWAIT_TIMEOUT_SECONDS',
      'CEX_MAX_PAYLOAD_BYTES',
      'CEX_HISTORY_RETENTION_DAYS',
      'CEX_INSTANCE_NAME',
      'CEX_LOG_LEVEL',
    ]) {
      expect(() => loadConfig({ [name]: 'not valid!' }), name).toThrow(new RegExp(`invalid configuration: .*${name}`));
    }
  });
});

describe.each(deployments().map((d) => [d.name, d] as const))('%s', (name, d) => {
  const objects = d.objects;
  const all = workloads(objects);
  const ksvcs = objects.filter(isKnativeService);
  const cm = configMapData(objects, CONFIG_MAP);
  const generated = generatedConfigMap(objects, CONFIG_MAP)!;
  const namespace = generated.metadata.namespace ?? 'default';
  const kindSecret = find(objects, 'Secret', SECRET);
  const secretValues = (kindSecret?.stringData ?? {}) as Record<string, string>;
  const grace = Number(cm.CEX_SHUTDOWN_GRACE_MS);
  const maxAwait = Number(cm.CEX_MAX_AWAIT_TIMEOUT_SECONDS ?? 60);

  it('deploys every FUNCTION_TARGET: one Knative Service per function serving it whole, named after it, the bridge Deployment, the migrations Job', () => {
    expect([...new Set(all.map((w) => w.target))].sort()).toEqual([...FUNCTION_TARGETS].sort());
    const whole = all.filter((w) => unitRoutesOf(w) === 'all');
    expect(whole.map((w) => w.target).sort(), 'each target served whole once').toEqual([...FUNCTION_TARGETS].sort());
    const byTarget = Object.fromEntries(whole.map((w) => [w.target, w.label]));
    expect(byTarget['nats-bridge']).toBe('Deployment nats-bridge');
    expect(byTarget.migrate).toBe('Job cex-migrate');
    for (const w of whole.filter((w) => !['nats-bridge', 'migrate'].includes(w.target))) {
      expect(isKnativeService(w.object), w.label).toBe(true);
      expect(w.object.metadata.name, 'a Knative Service is named after its function').toBe(w.target);
    }
  });

  it("serves command-submit's CloudEvents and command-lookup's SSE streams from Services of their own, named {unit}-{part}", () => {
    const partial = all.filter((w) => unitRoutesOf(w) !== 'all');
    expect(partial.map((w) => w.object.metadata.name).sort()).toEqual([...PARTIAL_SERVICES].sort());
    for (const w of partial) {
      expect(isKnativeService(w.object), w.label).toBe(true);
      expect(w.object.metadata.name).toBe(`${w.target}-${unitRoutesOf(w)}`);
      // The part is not empty (unitPart throws otherwise, as the process would at start).
      expect(
        () =>
          unitPart(
            units.find((u) => u.name === w.target)!,
            unitRoutesOf(w),
          ),
        w.label,
      ).not.toThrow();
    }
  });

  it('each FUNCTION_TARGET is a unit registered in functions/index.ts (or the migrator)', () => {
    // A unit missing here is a function still under construction: its
    // Service would crash-loop with "not a unit of this image".
    for (const w of all) expect([...unitNames, 'migrate'], `${w.label}: FUNCTION_TARGET=${w.target}`).toContain(w.target);
    expect([...unitNames, 'migrate'].sort()).toEqual([...FUNCTION_TARGETS].sort());
  });

  it('sets only variables the config schema reads', () => {
    for (const key of Object.keys(cm)) expect(CONFIG_VARIABLES, `ConfigMap key ${key}`).toContain(key);
    for (const w of all) for (const e of w.container.env ?? []) expect(CONFIG_VARIABLES, `${w.label}: env ${e.name}`).toContain(e.name);
  });

  it('gives every workload each Kaa setting: from the ConfigMap, a Secret reference, or its own env', () => {
    for (const w of all.filter((w) => w.target !== 'migrate')) {
      const own = new Set((w.container.env ?? []).map((e) => e.name));
      const fromConfigMap = (w.container.envFrom ?? []).some((f) => f.configMapRef?.name === generated.metadata.name);
      expect(fromConfigMap, `${w.label} loads ${generated.metadata.name}`).toBe(true);
      for (const v of SECTION_8) {
        const knativeSets = isKnativeService(w.object) && v === 'PORT';
        // Functions keep the random default: they subscribe to nothing.
        const randomPerProcess = isKnativeService(w.object) && v === 'CEX_REPLICA_ID';
        expect(v in cm || own.has(v) || knativeSets || randomPerProcess, `${w.label}: ${v}`).toBe(true);
      }
    }
  });

  it('puts every other variable of shared/config in the ConfigMap, secrets in the Secret, per-workload ones on the workload', () => {
    for (const v of CONFIG_VARIABLES) {
      if (SECRET_VARIABLES.includes(v) || PER_WORKLOAD.includes(v)) expect(v in cm, `${v} must not be in ${CONFIG_MAP}`).toBe(false);
      else expect(v in cm, `${v}: add it to knative/base/config.env (or explain here why it is not deployed)`).toBe(true);
    }
  });

  it('reads secrets only through secretKeyRef to cex-secrets; DATABASE_URL and CEX_INTERNAL_TOKEN required, the others optional', () => {
    for (const w of all) {
      for (const v of SECRET_VARIABLES) {
        const e = w.container.env?.find((x) => x.name === v);
        const internalTaker = (INTERNAL_CREDENTIAL_TARGETS as readonly string[]).includes(w.target);
        if ((w.target === 'migrate' && !v.startsWith('DATABASE_')) || (INTERNAL_SECRETS.includes(v) && !internalTaker)) {
          expect(e, `${w.label} does not get ${v}`).toBeUndefined();
          continue;
        }
        expect(e?.value, `${w.label}: ${v} must not be a literal`).toBeUndefined();
        const required = v === 'DATABASE_URL' || v === 'CEX_INTERNAL_TOKEN';
        expect(e?.valueFrom?.secretKeyRef, `${w.label}: ${v}`).toEqual({ name: SECRET, key: v, ...(required ? {} : { optional: true }) });
      }
    }
  });

  it('keeps the Istio sidecar out of the migrations Job (it would never complete)', () => {
    const job = find(objects, 'Job', 'cex-migrate')!;
    expect(
      (job.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata.annotations?.[
        'sidecar.istio.io/inject'
      ],
    ).toBe('false');
  });

  it('runs the bridge under its own service account, and no pod with an API token', () => {
    const bridge = find(objects, 'Deployment', 'nats-bridge')!;
    const podSpec = (o: typeof bridge) =>
      (o.spec as { template: { spec: { serviceAccountName?: string; automountServiceAccountToken?: boolean } } }).template.spec;
    expect(podSpec(bridge).serviceAccountName).toBe('cex-bridge');
    for (const o of ksvcs) expect(podSpec(o).serviceAccountName, o.metadata.name).toBe('cex');
    for (const name of ['cex', 'cex-bridge']) {
      expect(find(objects, 'ServiceAccount', name)?.automountServiceAccountToken, `ServiceAccount ${name}`).toBe(false);
    }
  });

  it('commits secret values only in the kind overlay, marked dev-only', () => {
    const secrets = objects.filter((o) => o.kind === 'Secret');
    if (name === 'base') expect(secrets).toEqual([]);
    for (const s of secrets) {
      expect(s.metadata.labels?.['cex.kaaiot.dev/dev-only'], `Secret ${s.metadata.name}`).toBe('true');
      for (const value of Object.values((s.stringData ?? {}) as Record<string, string>)) expect(value).toMatch(/dev-only/);
    }
    if (kindSecret) expect(Object.keys(secretValues)).toContain('DATABASE_URL');
  });

  it('resolves to a valid config for every workload (loadConfig accepts it and picks the right unit)', () => {
    for (const w of all) {
      const config = loadConfig(environmentOf(w, objects, secretValues));
      expect(config.functionTarget, w.label).toBe(w.target);
      expect(config.port).toBe(8080);
    }
  });

  it('points the bridge at the cluster-local addresses of the Services that take its CloudEvents (12/CIP: command-submit-events)', () => {
    const bridge = all.find((w) => w.target === 'nats-bridge')!;
    const config = loadConfig(environmentOf(bridge, objects, secretValues));
    const expected = {
      commandSubmit: { service: 'command-submit-events', unit: 'command-submit' },
      espInbound: { service: 'esp-inbound', unit: 'esp-inbound' },
      scmpConfigReload: { service: 'scmp-config-reload', unit: 'scmp-config-reload' },
    };
    for (const [key, { service, unit }] of Object.entries(expected)) {
      expect(config.functionUrls[key as keyof typeof expected]).toBe(`http://${service}.${namespace}.svc.cluster.local`);
      const ksvc = find(objects, 'Service', service, 'serving.knative.dev');
      expect(ksvc?.metadata.namespace, `Knative Service ${service}`).toBe(namespace);
      const w = all.find((x) => x.object === ksvc)!;
      expect(w.target).toBe(unit);
      // The part of the unit that Service serves takes the CloudEvents.
      expect(
        unitPart(
          units.find((u) => u.name === unit)!,
          unitRoutesOf(w),
        ).cloudEvent,
        service,
      ).toBeDefined();
    }
    // And the functions at the bridge's ClusterIP Service, in the same namespace.
    for (const w of all.filter((x) => isKnativeService(x.object))) {
      expect(loadConfig(environmentOf(w, objects, secretValues)).bridgeUrl, w.label).toBe(
        `http://nats-bridge.${namespace}.svc.cluster.local:8080`,
      );
    }
    expect(find(objects, 'Service', 'nats-bridge')?.metadata.namespace).toBe(namespace);
  });

  it('probes /readyz and /healthz on the serving port of every long-running workload', () => {
    for (const w of all.filter((w) => w.target !== 'migrate')) {
      const port = w.container.ports?.[0]?.containerPort;
      expect(port, w.label).toBe(8080);
      expect(w.container.readinessProbe?.httpGet, w.label).toEqual({ path: '/readyz', port });
      expect(w.container.livenessProbe?.httpGet, w.label).toEqual({ path: '/healthz', port });
    }
  });

  it('follows the rules Knative checks on revisions', () => {
    for (const o of ksvcs) {
      const label = `Knative Service ${o.metadata.name}`;
      const w = all.find((x) => x.object === o)!;
      const spec = revisionSpec(o);
      const a = templateAnnotations(o);
      expect((o.spec as { template: { spec: { containers: unknown[] } } }).template.spec.containers, label).toHaveLength(1);
      expect(['http1', 'h2c'], label).toContain(w.container.ports?.[0]?.name);
      for (const e of w.container.env ?? []) expect(KNATIVE_RESERVED_ENV, `${label}: env ${e.name}`).not.toContain(e.name);
      expect(Object.keys(cm).filter((k) => KNATIVE_RESERVED_ENV.includes(k))).toEqual([]);
      expect(spec.timeoutSeconds, label).toBeLessThanOrEqual(600); // max-revision-timeout-seconds default
      // Knative refuses a response-start timeout above the request timeout.
      if (spec.responseStartTimeoutSeconds !== undefined)
        expect(spec.responseStartTimeoutSeconds, label).toBeLessThanOrEqual(spec.timeoutSeconds!);
      if (spec.idleTimeoutSeconds !== undefined) expect(spec.idleTimeoutSeconds, label).toBeLessThanOrEqual(600);
      expect(spec.containerConcurrency, label).toBeGreaterThan(0);
      expect(spec.containerConcurrency, label).toBeLessThanOrEqual(1000); // container-concurrency-target-... max
      expect(Number(a['autoscaling.knative.dev/min-scale']), label).toBeLessThanOrEqual(Number(a['autoscaling.knative.dev/max-scale']));
      expect(a['autoscaling.knative.dev/metric'], label).toBe('concurrency');
      expect(Number(a['autoscaling.knative.dev/target-utilization-percentage']), label).toBeGreaterThan(0);
      expect(Number(a['autoscaling.knative.dev/target-utilization-percentage']), label).toBeLessThanOrEqual(100);
      expect(o.metadata.labels?.['networking.knative.dev/visibility'], `${label} is reached through the ingress only`).toBe(
        'cluster-local',
      );
    }
  });

  it("refuses sync waiters (503 + Retry-After) before Knative's concurrency limit queues them, leaving slots for short requests", () => {
    // command-submit is the unit whose requests wait (sync invokes); its events-only Service holds none.
    const w = all.find((x) => x.target === 'command-submit' && unitRoutesOf(x) === 'all')!;
    const waiters = loadConfig(environmentOf(w, objects, secretValues)).maxWaiters;
    const slots = revisionSpec(w.object).containerConcurrency!;
    expect(waiters, `${w.label}: CEX_MAX_WAITERS under containerConcurrency`).toBeLessThan(slots);
    expect(slots - waiters, 'slots left for short requests').toBeGreaterThanOrEqual(100);
  });

  it('holds sync waiters with high concurrency, and keeps the bridge running', () => {
    const submit = find(objects, 'Service', 'command-submit', 'serving.knative.dev')!;
    expect(revisionSpec(submit).containerConcurrency).toBeGreaterThanOrEqual(1000);
    const bridge = find(objects, 'Deployment', 'nats-bridge')!;
    expect((bridge.spec as { replicas: number }).replicas).toBeGreaterThanOrEqual(1);
    const pdb = find(objects, 'PodDisruptionBudget', 'nats-bridge')!;
    expect((pdb.spec as { minAvailable: number }).minAvailable).toBeGreaterThanOrEqual(1);
    expect((pdb.spec as { selector: unknown }).selector).toEqual((bridge.spec as { selector: unknown }).selector);
  });

  it('fits each shutdown in its grace period, and lets HTTP units outlive the 60 s sync ceiling', () => {
    for (const o of ksvcs) {
      const w = all.find((x) => x.object === o)!;
      const part = unitPart(
        units.find((u) => u.name === w.target)!,
        unitRoutesOf(w),
      );
      const timeout = revisionSpec(o).timeoutSeconds!;
      // Knative uses timeoutSeconds as the pod's termination grace period:
      // the queue-proxy drain, the longest request, then CEX's own shutdown
      // (which ends SSE streams at once; sync invokes wait up to maxAwait).
      const longest = w.target === 'command-submit' && part.routes?.length ? maxAwait : 0;
      expect(timeout, `${o.metadata.name}: timeoutSeconds`).toBeGreaterThanOrEqual(KNATIVE_DRAIN_SECONDS + longest + grace / 1000);
      if (part.routes?.length) expect(timeout, `${o.metadata.name} serves REST`).toBeGreaterThan(maxAwait);
    }
    const bridge = find(objects, 'Deployment', 'nats-bridge')!;
    const podSpec = (
      bridge.spec as {
        template: {
          spec: { terminationGracePeriodSeconds: number; containers: { lifecycle?: { preStop?: { exec?: { command: string[] } } } }[] };
        };
      }
    ).template.spec;
    // The preStop delay runs before SIGTERM, inside the same grace period.
    const preStop = podSpec.containers[0]!.lifecycle?.preStop?.exec?.command;
    expect(preStop?.[0], 'the bridge waits for its endpoints to be gone').toBe('sleep');
    expect(podSpec.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(Number(preStop![1]) * 1000 + grace + 5000);
  });

  it('stays within the Postgres connection budget', () => {
    let total = 0;
    for (const w of all.filter((w) => w.target !== 'migrate')) {
      const env = environmentOf(w, objects, secretValues);
      const pool = Number(env.CEX_DB_POOL_MAX ?? 10) + 1; // + the LISTEN connection
      const replicas = isKnativeService(w.object)
        ? Number(templateAnnotations(w.object)['autoscaling.knative.dev/max-scale'])
        : (w.object.spec as { replicas: number }).replicas;
      expect(replicas, `${w.label}: bounded scale`).toBeGreaterThan(0);
      total += replicas * pool;
    }
    if (name === 'base') expect(total, 'the figure quoted in knative/base/config.env and knative/README.md').toBe(397);
    const postgres = find(objects, 'StatefulSet', 'postgres');
    if (postgres) {
      const args = (
        (postgres.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]!.args ?? []
      ).join(' ');
      const max = Number(/max_connections=(\d+)/.exec(args)?.[1] ?? 100);
      expect(total + 10, 'kind Postgres max_connections').toBeLessThanOrEqual(max);
    }
  });

  describe('ingress', () => {
    // One way in per deployment: the base's Istio VirtualService, or the
    // Gateway API HTTPRoute of overlays/gateway-api (which deletes the
    // former). The routing checks below run against whichever it is.
    const vs = find(objects, 'VirtualService', 'cex-api');
    const httpRoute = find(objects, 'HTTPRoute', 'cex-api', 'gateway.networking.k8s.io');
    const route = (method: string, p: string, headers: Record<string, string> = {}): Routed | undefined =>
      vs
        ? routeRequest(vs.spec as VirtualServiceSpec, method, p, headers)
        : routeHttpRoute(httpRoute!.spec as HTTPRouteSpec, method, p, headers);
    const routes = units.flatMap((u) => u.routes ?? []);
    /** What CEX's own router picks for a path (literal segments first, as in the dev host). */
    const compiled = routes.map(compileRoute);
    const ownerRoute = (method: string, p: string) => {
      const m = matchRoute(compiled, method, p);
      return m && 'route' in m ? m.route : undefined;
    };
    const owner = (method: string, p: string) => ownerRoute(method, p)?.unit;
    const serviceOf = (authority: string | undefined) => authority?.replace(`.${namespace}.svc.cluster.local`, '');
    /**
     * The Knative Service that serves a route: one serving only a part of
     * its unit that holds the route (command-lookup-streams for the SSE
     * routes), else the one serving the whole unit.
     */
    const servingService = (r: UnitRoute): string => {
      const candidates = all.filter((w) => isKnativeService(w.object) && w.target === r.unit);
      const unit = units.find((u) => u.name === r.unit)!;
      const dedicated = candidates.find((w) => unitRoutesOf(w) !== 'all' && unitPart(unit, unitRoutesOf(w)).routes?.includes(r));
      return (dedicated ?? candidates.find((w) => unitRoutesOf(w) === 'all')!).object.metadata.name;
    };

    it('has exactly one: the Istio VirtualService or the Gateway API HTTPRoute', () => {
      expect([vs, httpRoute].filter(Boolean)).toHaveLength(1);
      if (name === 'overlays/production') expect(httpRoute, 'production uses the Gateway API variant').toBeDefined();
    });

    it("forwards to Knative's cluster-local gateway from the public one (a VirtualService on the ingress gateway, or an HTTPRoute on a Gateway with TLS and a ReferenceGrant)", () => {
      if (vs) {
        const spec = vs.spec as VirtualServiceSpec;
        expect(spec.gateways).toEqual(['knative-serving/knative-ingress-gateway']);
        expect(spec.hosts.length).toBeGreaterThan(0);
        for (const rule of spec.http)
          expect(rule.route?.map((r) => r.destination.host)).toEqual(['knative-local-gateway.istio-system.svc.cluster.local']);
        return;
      }
      const spec = httpRoute!.spec as HTTPRouteSpec;
      const routeNamespace = httpRoute!.metadata.namespace!;
      expect(routeNamespace).toBe(namespace);
      expect(spec.hostnames?.length).toBeGreaterThan(0);
      // Every rule: Kourier's cluster-local gateway, in its own namespace.
      const backends = new Set(spec.rules.flatMap((r) => (r.backendRefs ?? []).map((b) => JSON.stringify(b))));
      expect([...backends].map((b) => JSON.parse(b) as unknown)).toEqual([
        { group: '', kind: 'Service', name: 'kourier-internal', namespace: 'kourier-system', port: 80 },
      ]);
      for (const rule of spec.rules) expect(rule.backendRefs, rule.name).toHaveLength(1);
      // The target namespace consents to exactly this reference.
      const grants = objects.filter((o) => o.kind === 'ReferenceGrant' && o.metadata.namespace === 'kourier-system');
      expect(grants.length, 'a ReferenceGrant in kourier-system').toBe(1);
      const grant = grants[0]!.spec as {
        from: { group: string; kind: string; namespace: string }[];
        to: { group: string; kind: string; name?: string }[];
      };
      expect(grant.from).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: routeNamespace }]);
      expect(grant.to).toEqual([{ group: '', kind: 'Service', name: 'kourier-internal' }]);
      // The Gateway: an HTTPS listener for the route's host, TLS from a
      // Secret, routes accepted from this namespace.
      const [parent] = spec.parentRefs ?? [];
      expect(spec.parentRefs).toHaveLength(1);
      const gateway = find(objects, 'Gateway', parent!.name, 'gateway.networking.k8s.io');
      expect(gateway?.metadata.namespace, `Gateway ${parent!.name}`).toBe(parent!.namespace);
      const listener = (gateway!.spec as { listeners: Record<string, unknown>[] }).listeners.find(
        (l) => l.name === parent!.sectionName,
      ) as {
        protocol: string;
        hostname: string;
        tls: { mode: string; certificateRefs: { kind: string; name: string }[] };
        allowedRoutes: { namespaces: { from: string; selector?: { matchLabels?: Record<string, string> } } };
      };
      expect(listener.protocol).toBe('HTTPS');
      expect(spec.hostnames).toContain(listener.hostname);
      expect(listener.tls.mode).toBe('Terminate');
      expect(listener.tls.certificateRefs.map((c) => c.kind)).toEqual(['Secret']);
      expect(gateway!.metadata.annotations?.['cert-manager.io/cluster-issuer'], 'cert-manager issues the certificate').toBeTruthy();
      expect(listener.allowedRoutes.namespaces).toEqual({
        from: 'Selector',
        selector: { matchLabels: { 'kubernetes.io/metadata.name': routeNamespace } },
      });
    });

    it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))('routes %s (under /cex) to the Service serving it', (_, r) => {
      const sample = samplePath(r.path);
      const service = servingService(r);
      for (const method of r.method === 'GET' ? ['GET', 'HEAD'] : [r.method]) {
        const routed = route(method, `/cex${sample}`, headersFor(r));
        expect(routed, `${method} /cex${sample}`).toBeDefined();
        expect(routed!.authority).toBe(`${service}.${namespace}.svc.cluster.local`);
        expect(routed!.path).toBe(sample);
        expect(routed!.headers['X-Forwarded-Prefix']).toBe('/cex');
        const ksvc = find(objects, 'Service', service, 'serving.knative.dev')!;
        expect(routed!.timeoutSeconds, 'route timeout within the revision timeout').toBeLessThanOrEqual(revisionSpec(ksvc).timeoutSeconds!);
        if (r.unit === 'command-submit') expect(routed!.timeoutSeconds).toBeGreaterThan(maxAwait);
        // A retry after the request reached CEX could create a command twice.
        if (method === 'POST')
          expect((routed!.retryOn ?? '').split(',').filter((c) => c && !['connect-failure', 'refused-stream'].includes(c))).toEqual([]);
      }
    });

    it('sends the SSE streams to command-lookup-streams, and a stream asked for without Accept: text/event-stream still to a Service that serves it', () => {
      const streams = routes.filter(isStreamRoute);
      expect(streams.map((r) => servingService(r))).toEqual(['command-lookup-streams', 'command-lookup-streams']);
      const reads = routes.filter((r) => r.unit === 'command-lookup' && !isStreamRoute(r));
      expect(reads.map((r) => servingService(r))).toEqual(['command-lookup', 'command-lookup']);
      const timeoutOf = (service: string) => revisionSpec(find(objects, 'Service', service, 'serving.knative.dev')!).timeoutSeconds!;
      expect(timeoutOf('command-lookup-streams'), 'streams stay open up to 600 s').toBe(600);
      for (const r of streams) {
        for (const p of [samplePath(r.path), samplePath(r.path, { endpointId: 'commands' })]) {
          expect(route('GET', `/cex${p}`, SSE_HEADERS)?.timeoutSeconds, p).toBe(600);
          const bare = route('GET', `/cex${p}`);
          const service = serviceOf(bare?.authority)!;
          // The Istio variant tells streams by path; the Gateway API one by the header, so without
          // it a stream reaches command-lookup, which serves the whole unit (and cuts it sooner).
          expect(vs ? ['command-lookup-streams'] : ['command-lookup-streams', 'command-lookup'], `GET ${p}`).toContain(service);
          const w = all.find((x) => x.object.metadata.name === service && isKnativeService(x.object))!;
          expect(
            unitPart(
              units.find((u) => u.name === w.target)!,
              unitRoutesOf(w),
            ).routes,
            `GET ${p} on ${service}`,
          ).toContain(r);
        }
      }
    });

    it("resolves paths whose segments look like other routes' literals to the right unit", () => {
      for (const c of AMBIGUOUS_LOOKING) {
        expect(route(c.method, `/cex${c.path}`)?.authority, `${c.method} ${c.path}`).toBe(`${c.unit}.${namespace}.svc.cluster.local`);
      }
    });

    it("sends every path built from the API's own literals to the unit whose route CEX's router picks", () => {
      // Each placeholder filled with every literal segment of the API (and a
      // plain value): the unit the ingress picks must be the unit that serves it.
      const literals = [...new Set(routes.flatMap((r) => r.path.split('/').filter((s) => s && !s.startsWith('{'))))].filter(
        (s) => !['api', 'v1'].includes(s),
      );
      const values = [...literals, 'x-1'];
      let checked = 0;
      for (const r of routes) {
        const names = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
        const combos = names.reduce<Record<string, string>[]>((acc, n) => acc.flatMap((c) => values.map((v) => ({ ...c, [n]: v }))), [{}]);
        for (const combo of combos) {
          const p = samplePath(r.path, combo);
          for (const method of r.method === 'GET' ? ['GET', 'HEAD'] : [r.method]) {
            const expected = ownerRoute(method, p)!;
            const routed = route(method, `/cex${p}`, headersFor(expected));
            expect(serviceOf(routed?.authority), `${method} ${p}`).toBe(servingService(expected));
            expect(routed!.path.replace(/\/$/, ''), `${method} ${p}`).toBe(p.replace(/\/$/, ''));
            checked++;
          }
        }
      }
      expect(checked).toBeGreaterThan(500);
    });

    it('exposes nothing but the API and the console (no /cloudevents, /metrics, probes; nothing outside /cex/api/v1 and /cex/console)', () => {
      for (const [method, p] of NOT_EXPOSED) {
        const routed = route(method!, p!);
        if (vs || !routed) {
          expect(routed, `${method} ${p}`).toBeUndefined();
          continue;
        }
        // Prefix matching (the HTTPRoute) takes every path under
        // /cex/api/v1/endpoints for its method: what no unit serves there must
        // reach a unit that answers it with its own 404/405, and stay under
        // /api/v1/endpoints (never /cloudevents or an operations path).
        expect(routed.path, `${method} ${p}`).toMatch(/^\/api\/v1\/endpoints\//);
        expect(owner(method!, routed.path), `${method} ${p} is served by no unit`).toBeUndefined();
      }
    });

    it('routes the console (its root, files and deep links; GET and HEAD) to the console Service, with the prefix', () => {
      const ksvc = find(objects, 'Service', 'console', 'serving.knative.dev')!;
      for (const p of ['/console', '/console/', '/console/endpoints/e-1', '/console/assets/index-3f2a1b.js', '/console/config.json']) {
        for (const method of ['GET', 'HEAD']) {
          const routed = route(method, `/cex${p}`);
          expect(routed?.authority, `${method} /cex${p}`).toBe(`console.${namespace}.svc.cluster.local`);
          expect(routed!.path).toBe(p);
          expect(routed!.headers['X-Forwarded-Prefix']).toBe('/cex');
          expect(routed!.timeoutSeconds).toBeLessThanOrEqual(revisionSpec(ksvc).timeoutSeconds!);
        }
      }
      expect(all.find((w) => w.object === ksvc)?.target).toBe('console');
      for (const [method, p] of [
        ['POST', '/cex/console/'],
        ['DELETE', '/cex/console/config.json'],
        ['GET', '/cex/consoles'],
        ['GET', '/console/'],
      ]) {
        expect(route(method!, p!), `${method} ${p}`).toBeUndefined();
      }
    });
  });
});

describe('openfaas/stack.yml', () => {
  const dir = path.join(REPO_ROOT, 'openfaas');
  const [stack] = parseYamlFile(path.join(dir, 'stack.yml')) as {
    functions: Record<
      string,
      { image: string; environment?: Record<string, string>; environment_file?: string[]; annotations?: Record<string, string> }
    >;
  }[];
  const [shared] = parseYamlFile(path.join(dir, 'cex-config.yml')) as { environment: Record<string, string> }[];
  const base = configMapData(deployments()[0]!.objects, CONFIG_MAP);

  it('runs every function unit of the image, one per name, from one image', () => {
    const functions = Object.entries(stack!.functions);
    expect(functions.map(([name]) => name).sort()).toEqual(unitNames.filter((n) => n !== 'nats-bridge').sort());
    for (const [name, f] of functions) {
      expect(f.environment?.FUNCTION_TARGET, name).toBe(name);
      expect(f.annotations).toMatchObject({ 'com.openfaas.health.http.path': '/healthz', 'com.openfaas.ready.http.path': '/readyz' });
    }
    expect(new Set(functions.map(([, f]) => f.image)).size).toBe(1);
  });

  it('sets only variables the config schema reads, with the values of knative/base, and loads', () => {
    for (const [key, value] of Object.entries(shared!.environment)) {
      expect(CONFIG_VARIABLES, key).toContain(key);
      if (key !== 'NATS_URL') expect(value, key).toBe(base[key]);
    }
    for (const [name, f] of Object.entries(stack!.functions)) {
      for (const key of Object.keys(f.environment ?? {})) expect(CONFIG_VARIABLES, `${name}: ${key}`).toContain(key);
      // cex-secrets.yml is written at deploy time, never committed: placeholders for its keys.
      const env = {
        ...shared!.environment,
        ...f.environment,
        DATABASE_URL: 'postgres://cex:placeholder@postgres:5432/cex',
        CEX_INTERNAL_TOKEN: 'placeholder-internal-token-0123456789abcdef',
      };
      expect(loadConfig(env).functionTarget).toBe(name);
    }
  });
});
