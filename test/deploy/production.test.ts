import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config/index.js';
import { configMapData, deployments, environmentOf, find, isKnativeService, workloads, type Workload } from './deployments.js';
import { containersOf, KNATIVE_DIR, render, REPO_ROOT, type K8sObject } from './kustomize.js';

// Issue 17, part 6: the production example overlay. Names derived from its
// namespace, NATS credentials and CA mounted from Secrets into the bridge,
// pull secrets, Prometheus Operator scraping every workload, one image by
// digest for the Services and the migrations Job, and the GitOps wiring
// that runs the Job first (Argo CD hook annotations, Flux dependsOn).

interface PodSpec {
  serviceAccountName?: string;
  imagePullSecrets?: { name: string }[];
  volumes?: { name: string; secret?: { secretName: string } }[];
  containers: {
    image: string;
    volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
    ports?: { containerPort: number }[];
  }[];
}

const rendered = deployments();
const production = rendered.find((d) => d.name === 'overlays/production')!;
const objects = production.objects;
const NAMESPACE = 'cex-prod';
const podSpec = (o: K8sObject) => (o.spec as { template: { spec: PodSpec } }).template.spec;
const podLabels = (o: K8sObject) =>
  (o.spec as { template: { metadata?: { labels?: Record<string, string> } } }).template.metadata?.labels ?? {};
const all = workloads(objects);
const longRunning = all.filter((w) => w.target !== 'migrate');
const bridge = all.find((w) => w.target === 'nats-bridge')!;

describe('overlays/production', () => {
  it('lives in its own namespace, and every name of a CEX Service follows it (no .cex.svc left)', () => {
    const namespaced = objects.filter((o) => !['Gateway', 'ReferenceGrant'].includes(o.kind));
    expect(new Set(namespaced.map((o) => o.metadata.namespace))).toEqual(new Set([NAMESPACE]));
    const text = JSON.stringify(objects);
    expect(text).not.toMatch(/\.cex\.svc/);
    const cexServices = new Set([...objects.filter(isKnativeService).map((o) => o.metadata.name), 'nats-bridge']);
    const clusterNames = [...text.matchAll(/([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local/g)].filter((m) => cexServices.has(m[1]!));
    // Four function and bridge URLs, eight HTTPRoute hostname rewrites.
    expect(clusterNames.length).toBeGreaterThanOrEqual(10);
    for (const m of clusterNames) expect(m[2], m[0]).toBe(NAMESPACE);
  });

  it('derives those names from the namespace: another namespace in the overlay moves them all', () => {
    mkdirSync(path.join(REPO_ROOT, '.data'), { recursive: true });
    const copy = mkdtempSync(path.join(REPO_ROOT, '.data', 'knative-ns-'));
    try {
      cpSync(KNATIVE_DIR, copy, { recursive: true });
      const file = path.join(copy, 'overlays', 'production', 'kustomization.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replace(/^namespace: cex-prod$/m, 'namespace: kaa-commands'));
      const moved = render(path.join(copy, 'overlays', 'production'));
      const text = JSON.stringify(moved);
      expect(text).not.toMatch(/cex-prod|\.cex\.svc/);
      const cm = configMapData(moved, 'cex-config');
      for (const key of ['CEX_COMMAND_SUBMIT_URL', 'CEX_ESP_INBOUND_URL', 'CEX_SCMP_CONFIG_RELOAD_URL', 'CEX_BRIDGE_URL']) {
        expect(cm[key], key).toMatch(/^http:\/\/[a-z-]+\.kaa-commands\.svc\.cluster\.local(:8080)?$/);
      }
      const route = find(moved, 'HTTPRoute', 'cex-api')!;
      const hosts = JSON.stringify(route.spec).match(/"hostname":"[^"]+"/g) ?? [];
      expect(hosts.length).toBe(8);
      for (const h of hosts) expect(h).toMatch(/\.kaa-commands\.svc\.cluster\.local"$/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }, 60_000);

  it('mounts the NATS credentials and CA from Secrets into the bridge only, where the NATS_*_FILE settings point', () => {
    const config = loadConfig(environmentOf(bridge, objects));
    const cm = configMapData(objects, 'cex-config');
    expect(cm.NATS_URL).toMatch(/^tls:\/\//);
    expect(cm.NATS_CREDS_FILE && cm.NATS_TLS_CA_FILE).toBeTruthy();
    expect(cm.NATS_NKEY_SEED_FILE, 'a creds file or an NKEY seed, not both').toBe('');
    expect(JSON.stringify(config)).toContain(cm.NATS_CREDS_FILE);
    const spec = podSpec(bridge.object);
    const mounts = spec.containers[0]!.volumeMounts ?? [];
    for (const [file, secret] of [
      [cm.NATS_CREDS_FILE!, 'cex-nats'],
      [cm.NATS_TLS_CA_FILE!, 'cex-nats-ca'],
    ] as const) {
      const mount = mounts.find((m) => path.posix.dirname(file) === m.mountPath);
      expect(mount, `${file} is inside a mounted volume`).toBeDefined();
      expect(mount!.readOnly).toBe(true);
      expect(spec.volumes?.find((v) => v.name === mount!.name)?.secret?.secretName, file).toBe(secret);
    }
    for (const w of all.filter((x) => x !== bridge)) expect(podSpec(w.object).volumes, `${w.label} mounts no NATS secret`).toBeUndefined();
  });

  it('keeps the bridge draining before SIGTERM (preStop) within its grace period, as in the base', () => {
    const base = rendered.find((d) => d.name === 'base')!;
    const lifecycle = (o: K8sObject) =>
      JSON.stringify(
        [
          (o.spec as { template: { spec: { terminationGracePeriodSeconds: number; containers: { lifecycle?: unknown }[] } } }).template
            .spec,
        ].map((s) => [s.terminationGracePeriodSeconds, s.containers[0]!.lifecycle]),
      );
    expect(lifecycle(bridge.object)).toBe(lifecycle(find(base.objects, 'Deployment', 'nats-bridge')!));
    expect(lifecycle(bridge.object)).toContain('sleep');
  });

  it('pulls every image with credentials: on the ServiceAccounts of the Services and the bridge, on the Job itself', () => {
    const pullSecretsOf = (w: Workload) => {
      const spec = podSpec(w.object);
      const sa = spec.serviceAccountName ? find(objects, 'ServiceAccount', spec.serviceAccountName) : undefined;
      return [...(spec.imagePullSecrets ?? []), ...((sa?.imagePullSecrets as { name: string }[] | undefined) ?? [])].map((s) => s.name);
    };
    for (const w of all) expect(pullSecretsOf(w), w.label).toEqual(['registry-credentials']);
    const job = all.find((w) => w.target === 'migrate')!;
    expect(podSpec(job.object).serviceAccountName, 'the Job runs before the ServiceAccounts exist').toBeUndefined();
  });

  it('runs the Services, the bridge and the migrations Job from one image reference, pinned by digest', () => {
    const images = new Set(objects.flatMap((o) => containersOf(o).map((c) => c.image)));
    expect(images.size).toBe(1);
    expect([...images][0]).toMatch(/^[\w.-]+(\/[\w.-]+)*@sha256:[0-9a-f]{64}$/);
    expect(all.map((w) => w.target)).toContain('migrate');
  });

  describe('ServiceMonitor', () => {
    const monitor = find(objects, 'ServiceMonitor', 'cex', 'monitoring.coreos.com')!;
    const spec = monitor?.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
    const service = objects.find(
      (o) =>
        o.kind === 'Service' &&
        o.apiVersion === 'v1' &&
        Object.entries(spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v),
    );
    const serviceSpec = service?.spec as {
      clusterIP?: string;
      selector: Record<string, string>;
      ports: { name: string; targetPort: number }[];
    };
    const selects = (o: K8sObject) => Object.entries(serviceSpec.selector).every(([k, v]) => podLabels(o)[k] === v);

    it('selects a Service whose endpoints are the pods of every function and of the bridge, not the Job', () => {
      expect(service?.metadata.name).toBe('cex-metrics');
      expect(serviceSpec.clusterIP, 'headless: Prometheus scrapes each pod').toBe('None');
      expect(longRunning.filter((w) => !selects(w.object)).map((w) => w.label)).toEqual([]);
      expect(longRunning.map((w) => w.label).sort()).toEqual([
        'Deployment nats-bridge',
        'Service command-lookup',
        'Service command-lookup-streams',
        'Service command-submit',
        'Service command-submit-events',
        'Service console',
        'Service esp-inbound',
        'Service history-listing',
        'Service scmp-config-reload',
      ]);
      expect(selects(find(objects, 'Job', 'cex-migrate')!)).toBe(false);
    });

    it("scrapes /metrics on each pod's serving port, not through the queue-proxy", () => {
      expect(spec.endpoints.map((e) => e.path)).toEqual(['/metrics']);
      const port = serviceSpec.ports.find((p) => p.name === spec.endpoints[0]!.port);
      expect(port, `port ${spec.endpoints[0]!.port}`).toBeDefined();
      for (const w of longRunning) expect(w.container.ports?.[0]?.containerPort, w.label).toBe(port!.targetPort);
      // The bridge's NetworkPolicy lets the monitoring namespace in.
      const policy = find(objects, 'NetworkPolicy', 'nats-bridge')!;
      expect(JSON.stringify(policy.spec)).toContain('"kubernetes.io/metadata.name":"monitoring"');
    });
  });

  describe('GitOps wiring of the migrations Job', () => {
    it('Argo CD: the Job is a PreSync hook, replaced before each run, without an Istio sidecar', () => {
      const job = find(objects, 'Job', 'cex-migrate')!;
      expect(job.metadata.annotations).toMatchObject({
        'argocd.argoproj.io/hook': 'PreSync',
        'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
      });
      expect(
        (job.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations[
          'sidecar.istio.io/inject'
        ],
      ).toBe('false');
    });

    it('Flux: the app depends on a Kustomization that recreates the Job and waits for it, both paths building what they should', () => {
      const flux = render(path.join(KNATIVE_DIR, 'overlays', 'production', 'flux'));
      const byName = Object.fromEntries(
        flux.map((o) => [
          o.metadata.name,
          o.spec as { path: string; dependsOn?: { name: string }[]; force?: boolean; wait?: boolean; sourceRef: unknown },
        ]),
      );
      expect(Object.keys(byName).sort()).toEqual(['cex', 'cex-migrate']);
      expect(byName.cex!.dependsOn).toEqual([{ name: 'cex-migrate' }]);
      expect(byName['cex-migrate']).toMatchObject({ force: true, wait: true });
      expect(byName.cex!.sourceRef).toEqual(byName['cex-migrate']!.sourceRef);
      const built = (name: string) => {
        const dir = path.join(REPO_ROOT, byName[name]!.path);
        expect(existsSync(path.join(dir, 'kustomization.yaml')), byName[name]!.path).toBe(true);
        return render(dir);
      };
      expect(built('cex-migrate').map((o) => `${o.kind} ${o.metadata.name}`)).toEqual(['Job cex-migrate']);
      const app = built('cex');
      expect(app.filter(isKnativeService).length).toBe(8);
      expect(app.some((o) => o.kind === 'Job')).toBe(false);
    });
  });
});
