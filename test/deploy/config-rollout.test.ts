import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deployments, generatedConfigMap, workloads } from './deployments.js';
import { configMapHash } from './generators.js';
import { KNATIVE_DIR, renderWithResolver, REPO_ROOT, type K8sObject } from './kustomize.js';

// Issue 17, part 2: cex-config is generated with a content hash in its name
// and every workload names it by that name, so a changed setting is a
// changed pod template (a new Knative revision, a new bridge ReplicaSet).

const CONFIG = 'cex-config';
const podTemplate = (o: K8sObject) => JSON.stringify((o.spec as { template: unknown }).template);

describe.each(deployments().map((d) => [d.name, d.objects] as const))('%s', (_, objects) => {
  it('generates cex-config under a hashed name, and no plain one', () => {
    const generated = generatedConfigMap(objects, CONFIG);
    expect(generated?.metadata.name).toMatch(/^cex-config-[a-z0-9]{10}$/);
    expect(objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name === CONFIG)).toEqual([]);
    expect(generated!.metadata.name).toBe(`${CONFIG}-${configMapHash(generated!.data as Record<string, string>)}`);
  });

  it('has every Knative Service and the bridge load it by that name', () => {
    const name = generatedConfigMap(objects, CONFIG)!.metadata.name;
    const loading = workloads(objects).filter((w) => w.target !== 'migrate');
    expect(loading.map((w) => w.label).sort()).toEqual([
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
    for (const w of loading)
      expect(
        w.container.envFrom?.map((f) => f.configMapRef?.name),
        w.label,
      ).toEqual([name]);
  });
});

describe('a configuration change', () => {
  mkdirSync(path.join(REPO_ROOT, '.data'), { recursive: true });
  const copy = mkdtempSync(path.join(REPO_ROOT, '.data', 'knative-'));
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('renames the ConfigMap and changes the pod template of every workload that loads it, and nothing else', () => {
    cpSync(KNATIVE_DIR, copy, { recursive: true });
    const env = path.join(copy, 'base', 'config.env');
    writeFileSync(env, readFileSync(env, 'utf8').replace(/^CEX_LOG_LEVEL=info$/m, 'CEX_LOG_LEVEL=debug'));
    const before = renderWithResolver(path.join(KNATIVE_DIR, 'base'));
    const after = renderWithResolver(path.join(copy, 'base'));
    const [oldName, newName] = [generatedConfigMap(before, CONFIG)!.metadata.name, generatedConfigMap(after, CONFIG)!.metadata.name];
    expect(newName).not.toBe(oldName);
    const changed = after.filter((o, i) => JSON.stringify(o) !== JSON.stringify(before[i])).map((o) => `${o.kind} ${o.metadata.name}`);
    expect(changed.sort()).toEqual(
      [
        `ConfigMap ${newName}`,
        'Deployment nats-bridge',
        ...[
          'command-lookup',
          'command-lookup-streams',
          'command-submit',
          'command-submit-events',
          'console',
          'esp-inbound',
          'history-listing',
          'scmp-config-reload',
        ].map((s) => `Service ${s}`),
      ].sort(),
    );
    for (const o of after.filter((x) => x.kind === 'Deployment' || x.apiVersion.startsWith('serving.knative.dev/'))) {
      const old = before.find((b) => b.kind === o.kind && b.metadata.name === o.metadata.name)!;
      expect(podTemplate(o), o.metadata.name).not.toBe(podTemplate(old));
      expect(podTemplate(o).replaceAll(newName, oldName), `${o.metadata.name}: only the name changed`).toBe(podTemplate(old));
    }
  });

  it('in an overlay (merged literals) gives another name than the base', () => {
    const [base, ...overlays] = deployments();
    expect(overlays.map((d) => d.name)).toEqual(['overlays/kind', 'overlays/production']);
    for (const d of overlays)
      expect(generatedConfigMap(d.objects, CONFIG)!.metadata.name, d.name).not.toBe(
        generatedConfigMap(base!.objects, CONFIG)!.metadata.name,
      );
  });

  it("is hashed as kustomize hashes it (a value `kubectl kustomize` printed for {A: '1'})", () => {
    expect(configMapHash({ A: '1' })).toBe('89g4tffbfk');
  });
});
