import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { applyGenerators, nameGenerated, readNameReferences, type FieldSpec, type Generator } from './generators.js';

/** A Kubernetes object as parsed from YAML. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
};

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const KNATIVE_DIR = path.join(REPO_ROOT, 'knative');

/** Parses every document of a YAML file; duplicate keys and syntax errors throw, naming the file. */
export function parseYamlFile(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { uniqueKeys: true, prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: unknown[] = [];
  for (const doc of list) {
    if (doc.errors.length > 0) throw new Error(`${path.relative(REPO_ROOT, file)}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** Every *.yaml / *.yml under `dir`, recursively, sorted. */
export function yamlFiles(dir = KNATIVE_DIR): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...yamlFiles(full));
    else if (/\.ya?ml$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}

/** Directories under knative/ that hold a kustomization.yaml (each can be built). */
export function kustomizationRoots(): string[] {
  return yamlFiles()
    .filter((f) => path.basename(f) === 'kustomization.yaml')
    .map((f) => path.dirname(f));
}

interface Kustomization {
  namespace?: string;
  resources?: string[];
  configMapGenerator?: Generator[];
  configurations?: string[];
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean }[];
  images?: { name: string; newName?: string; newTag?: string }[];
  patches?: { path?: string; patch?: string; target?: { group?: string; version?: string; kind?: string; name?: string } }[];
}

export function readKustomization(dir: string): Kustomization {
  const [doc] = parseYamlFile(path.join(dir, 'kustomization.yaml'));
  return (doc ?? {}) as Kustomization;
}

/** `kubectl kustomize` when a kubectl (with its built-in kustomize) is on PATH. */
export function kubectlAvailable(): boolean {
  return spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
}

export function renderWithKubectl(dir: string): K8sObject[] {
  const text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return parseAllDocuments(text).flatMap((d) => (Array.isArray(d) ? d : [d])).map((d) => d.toJS() as K8sObject).filter(Boolean);
}

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass']);

/**
 * A small kustomize for the features knative/ uses (resources, namespace,
 * labels without selectors, images, strategic-merge patches by path, JSON
 * 6902 patches with a target, configMapGenerator with hashed names and the
 * nameReference `configurations`). The tests build with kubectl where it
 * exists and check this renders the same, so the checks still run on a
 * machine without kubectl.
 */
export function renderWithResolver(dir: string): K8sObject[] {
  const { objects, nameReferences } = renderLevel(dir);
  nameGenerated(objects, nameReferences);
  return objects;
}

function renderLevel(dir: string): { objects: K8sObject[]; nameReferences: FieldSpec[] } {
  const k = readKustomization(dir);
  let objects: K8sObject[] = [];
  const nameReferences = readNameReferences(dir, k.configurations);
  for (const res of k.resources ?? []) {
    const full = path.resolve(dir, res);
    if (statSync(full).isDirectory()) {
      const inner = renderLevel(full);
      objects.push(...inner.objects);
      nameReferences.push(...inner.nameReferences);
    } else objects.push(...(parseYamlFile(full) as K8sObject[]));
  }
  // Not structuredClone: it would drop the mark generated ConfigMaps carry.
  objects = objects.map((o) => Object.assign(structuredClone({ ...o }), pickSymbols(o)));
  applyGenerators(dir, k.configMapGenerator ?? [], objects);
  for (const p of k.patches ?? []) {
    if (p.path) {
      for (const patch of parseYamlFile(path.resolve(dir, p.path)) as K8sObject[]) {
        const target = objects.find((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name && groupOf(o) === groupOf(patch));
        if (!target) throw new Error(`patch ${p.path}: no ${patch.kind} ${patch.metadata.name}`);
        mergeInto(target, patch);
      }
    } else if (p.patch && p.target) {
      const ops = parseAllDocuments(p.patch);
      const list = ((Array.isArray(ops) ? ops[0] : ops)!.toJS() ?? []) as JsonPatchOp[];
      const t = p.target;
      for (const o of objects) {
        if (t.kind && o.kind !== t.kind) continue;
        if (t.group !== undefined && groupOf(o) !== t.group) continue;
        if (t.name && o.metadata.name !== t.name) continue;
        for (const op of list) applyJsonPatch(o, op);
      }
    }
  }
  for (const o of objects) {
    if (k.namespace && !CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    for (const l of k.labels ?? []) o.metadata.labels = { ...o.metadata.labels, ...l.pairs };
    for (const img of k.images ?? []) for (const c of containersOf(o)) c.image = retag(c.image, img);
  }
  return { objects, nameReferences };
}

function pickSymbols(o: object): Record<symbol, unknown> {
  return Object.fromEntries(Object.getOwnPropertySymbols(o).map((s) => [s, (o as Record<symbol, unknown>)[s]]));
}

export function groupOf(o: { apiVersion: string }): string {
  return o.apiVersion.includes('/') ? o.apiVersion.split('/')[0]! : '';
}

/** Containers of a workload (Pod template, Knative Service, Job, Deployment, StatefulSet). */
export function containersOf(o: K8sObject): { name: string; image: string; [k: string]: unknown }[] {
  const spec = o.spec as { template?: { spec?: { containers?: unknown[] } } } | undefined;
  return (spec?.template?.spec?.containers ?? []) as { name: string; image: string }[];
}

function retag(image: string, img: { name: string; newName?: string; newTag?: string }): string {
  const m = /^(.*?)(?::([^:/]+))?$/.exec(image)!;
  if (m[1] !== img.name) return image;
  const tag = img.newTag ?? m[2];
  return `${img.newName ?? m[1]}${tag ? `:${tag}` : ''}`;
}

function mergeInto(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(patch)) {
    const current = target[key];
    if (value === null) delete target[key];
    else if (isPlainObject(value) && isPlainObject(current)) mergeInto(current, value);
    else target[key] = structuredClone(value);
  }
}

interface JsonPatchOp {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

function applyJsonPatch(doc: Record<string, unknown>, op: JsonPatchOp): void {
  const keys = op.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = keys.pop()!;
  let node: unknown = doc;
  for (const key of keys) {
    node = (node as Record<string, unknown>)[key];
    if (node === undefined) throw new Error(`JSON patch path ${op.path} does not exist`);
  }
  const parent = node as Record<string, unknown> & unknown[];
  if (op.op === 'remove') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (Array.isArray(parent) && (last === '-' || op.op === 'add')) {
    parent.splice(last === '-' ? parent.length : Number(last), 0, structuredClone(op.value));
  } else {
    if (op.op === 'replace' && !(last in parent)) throw new Error(`JSON patch replace: ${op.path} does not exist`);
    parent[last] = structuredClone(op.value);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Stable order for comparing two renderings. */
export function sortObjects(objects: K8sObject[]): K8sObject[] {
  const key = (o: K8sObject) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
  return [...objects].sort((a, b) => key(a).localeCompare(key(b)));
}

/** kubectl's rendering where kubectl exists, else the resolver's. */
export function render(dir: string): K8sObject[] {
  return kubectlAvailable() ? renderWithKubectl(dir) : renderWithResolver(dir);
}

