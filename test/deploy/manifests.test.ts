import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  KNATIVE_DIR,
  kubectlAvailable,
  kustomizationRoots,
  parseYamlFile,
  readKustomization,
  renderWithKubectl,
  renderWithResolver,
  REPO_ROOT,
  sortObjects,
  yamlFiles,
  type K8sObject,
} from './kustomize.js';
import { deployments } from './deployments.js';
import { validateObject } from './schemas.js';
import { unknownFieldErrors } from './strict.js';

// Every YAML file under knative/ parses, every kustomization builds, and
// every object it renders passes the published Kubernetes / Knative Serving /
// Istio schemas, with no field those APIs do not know.

const rel = (p: string) => path.relative(REPO_ROOT, p);
const RENDERS_DIR = path.join(REPO_ROOT, 'test', 'deploy', 'renders');
const renderFile = (root: string) => `${root.replaceAll('/', '_')}.yaml`;
/** What `kubectl kustomize knative/<root>` rendered (test/deploy/renders/, refreshed by `make renders`). */
const expectedRender = (root: string) => parseYamlFile(path.join(RENDERS_DIR, renderFile(root))) as K8sObject[];
const roots = kustomizationRoots();
/** Kustomizations and the Components they include (a Component is built only as part of a Kustomization). */
const allRoots = kustomizationRoots({ components: true });

describe('knative/ YAML', () => {
  it('has the kustomizations the README describes', () => {
    expect(roots.map((r) => path.relative(KNATIVE_DIR, r)).sort()).toEqual([
      'base',
      'migrate',
      'observability',
      'overlays/gateway-api',
      'overlays/gateway-api/platform',
      'overlays/kind',
      'overlays/kind/deps',
      'overlays/kind/migrate',
      'overlays/production',
      'overlays/production/flux',
      'overlays/production/migrate',
      'overlays/production/platform',
    ]);
    expect(allRoots.filter((r) => !roots.includes(r)).map((r) => path.relative(KNATIVE_DIR, r))).toEqual(['overlays/production/image']);
  });

  it('parses every file: no syntax error, no duplicate key, every document a Kubernetes object, a kustomization or a kustomize configuration', () => {
    const files = yamlFiles();
    expect(files.length).toBeGreaterThan(10);
    const configurations = new Set(allRoots.flatMap((r) => (readKustomization(r).configurations ?? []).map((c) => path.resolve(r, c))));
    for (const file of files) {
      const docs = parseYamlFile(file) as Record<string, unknown>[];
      expect(docs.length, rel(file)).toBeGreaterThan(0);
      if (configurations.has(file)) {
        expect(Array.isArray(docs[0]!.nameReference), `${rel(file)}: a nameReference configuration`).toBe(true);
        continue;
      }
      for (const doc of docs) {
        expect(typeof doc.apiVersion, rel(file)).toBe('string');
        expect(typeof doc.kind, rel(file)).toBe('string');
      }
    }
  });

  it('references only files that exist, and every YAML file is used by some kustomization', () => {
    const used = new Set<string>();
    for (const root of allRoots) {
      used.add(path.join(root, 'kustomization.yaml'));
      const k = readKustomization(root);
      for (const c of k.components ?? []) {
        const full = path.resolve(root, c);
        expect(existsSync(path.join(full, 'kustomization.yaml')), `${rel(root)}: component ${c}`).toBe(true);
        expect(readKustomization(full).kind, `${rel(full)} is a Component`).toBe('Component');
      }
      for (const res of k.resources ?? []) {
        const full = path.resolve(root, res);
        expect(existsSync(full), `${rel(root)}: resource ${res}`).toBe(true);
        if (statSync(full).isDirectory())
          expect(existsSync(path.join(full, 'kustomization.yaml')), `${rel(full)}/kustomization.yaml`).toBe(true);
        else used.add(full);
      }
      for (const c of k.configurations ?? []) {
        expect(existsSync(path.resolve(root, c)), `${rel(root)}: configuration ${c}`).toBe(true);
        used.add(path.resolve(root, c));
      }
      for (const g of k.configMapGenerator ?? []) {
        for (const env of g.envs ?? []) expect(existsSync(path.resolve(root, env)), `${rel(root)}: env file ${env}`).toBe(true);
        for (const f of g.files ?? [])
          expect(existsSync(path.resolve(root, f.slice(f.indexOf('=') + 1))), `${rel(root)}: file ${f}`).toBe(true);
      }
      for (const p of k.patches ?? []) {
        if (p.path) {
          const full = path.resolve(root, p.path);
          expect(existsSync(full), `${rel(root)}: patch ${p.path}`).toBe(true);
          used.add(full);
        } else expect(p.patch && p.target, `${rel(root)}: an inline patch needs a target`).toBeTruthy();
      }
    }
    expect(
      yamlFiles()
        .filter((f) => !used.has(f))
        .map(rel),
    ).toEqual([]);
  });

  // The checks below read the test resolver's rendering. It must equal real
  // kustomize's: test/deploy/renders/ holds what `kubectl kustomize` rendered
  // for each root (`make renders` refreshes them), compared here on every
  // machine; where kubectl exists, its live rendering must equal them too, so
  // a stale file cannot pass.
  it.each(roots.map((r) => [path.relative(KNATIVE_DIR, r), r]))(
    '%s renders with the test resolver exactly as kubectl kustomize does',
    (rel, root) => {
      const resolved = sortObjects(renderWithResolver(root));
      expect(resolved.length).toBeGreaterThan(0);
      const expected = sortObjects(expectedRender(rel));
      expect(resolved).toEqual(expected);
      if (kubectlAvailable()) expect(sortObjects(renderWithKubectl(root))).toEqual(expected);
    },
  );

  it('has an expected render for every kustomization and none for a kustomization that is gone', () => {
    expect(readdirSync(RENDERS_DIR).sort()).toEqual(roots.map((r) => renderFile(path.relative(KNATIVE_DIR, r))).sort());
  });
});

describe('rendered objects', () => {
  const all = new Map<string, { label: string; object: K8sObject }>();
  for (const root of roots) {
    for (const object of renderWithResolver(root)) {
      const label = `${path.relative(KNATIVE_DIR, root)}: ${object.kind} ${object.metadata.name}`;
      all.set(label, { label, object });
    }
  }

  it('validate against the Kubernetes, Knative Serving, Istio, Gateway API, Prometheus Operator and Flux schemas', () => {
    const failures: string[] = [];
    for (const { label, object } of all.values()) {
      try {
        validateObject(object);
      } catch (err) {
        failures.push(`${label}: ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('carry no field unknown to their API (a typo would be pruned silently)', () => {
    expect(unknownFieldErrors([...all.values()])).toEqual([]);
  }, 60_000);

  it('the strict check does catch a misspelt field and a wrong type', () => {
    const ksvc = [...all.values()].find((v) => v.object.apiVersion === 'serving.knative.dev/v1')!;
    const broken = structuredClone(ksvc.object) as unknown as {
      spec: { template: { spec: { containers: Record<string, unknown>[]; timeoutSeconds: unknown } } };
    };
    const container = broken.spec.template.spec.containers[0]!;
    container.readinesProbe = container.readinessProbe;
    broken.spec.template.spec.timeoutSeconds = '90';
    const errors = unknownFieldErrors([{ label: 'broken', object: broken as unknown as K8sObject }]);
    expect(errors.join('\n')).toMatch(/readinesProbe/);
    expect(errors.join('\n')).toMatch(/timeoutSeconds|not assignable to type 'number'/);
    expect(() => validateObject(broken as unknown as K8sObject)).toThrow(/timeoutSeconds must be integer/);
  }, 60_000);

  it('name a qualified, tagged (or digest-pinned) image in every overlay (the base leaves `cex` to the overlay)', () => {
    for (const d of deployments().filter((d) => d.name !== 'base')) {
      for (const o of d.objects) {
        for (const c of (o.spec as { template?: { spec?: { containers?: { image: string }[] } } })?.template?.spec?.containers ?? []) {
          expect(c.image, `${d.name}: ${o.kind} ${o.metadata.name}`).toMatch(/^[\w.-]+(\/[\w.-]+)*(:[\w.-]+|@sha256:[0-9a-f]{64})$/);
          expect(c.image).not.toMatch(/:latest$/);
        }
      }
    }
  });
});
