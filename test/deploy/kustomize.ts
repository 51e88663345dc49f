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

/** Directories under knative/ that hold a kustomization.yaml: Kustomizations (each can be built) and, with `components`, Components. */
export function kustomizationRoots(options: { components?: boolean } = {}): string[] {
  return yamlFiles()
    .filter((f) => path.basename(f) === 'kustomization.yaml')
    .map((f) => path.dirname(f))
    .filter((dir) => options.components || readKustomization(dir).kind !== 'Component');
}

interface Selector {
  group?: string;
  version?: string;
  kind?: string;
  name?: string;
}

/** kustomize `replacements`: copy one field's value into other fields (or one part of them). */
interface Replacement {
  source: Selector & { fieldPath: string };
  targets: { select: Selector; fieldPaths: string[]; options?: { delimiter?: string; index?: number } }[];
}

interface Kustomization {
  kind?: 'Kustomization' | 'Component';
  namespace?: string;
  resources?: string[];
  components?: string[];
  configMapGenerator?: Generator[];
  configurations?: string[];
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean }[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  patches?: { path?: string; patch?: string; target?: Selector }[];
  replacements?: Replacement[];
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
  return parseAllDocuments(text)
    .flatMap((d) => (Array.isArray(d) ? d : [d]))
    .map((d) => d.toJS() as K8sObject)
    .filter(Boolean);
}

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
]);

/**
 * A small kustomize for the features knative/ uses (resources, components,
 * namespace, labels without selectors, images by tag or digest,
 * strategic-merge patches by path (`$patch: delete` too), JSON 6902 patches
 * with a target, replacements with `*` in target paths and a delimiter,
 * configMapGenerator with hashed names and the nameReference
 * `configurations`). The tests build with kubectl where it
 * exists and check this renders the same, so the checks still run on a
 * machine without kubectl.
 */
export function renderWithResolver(dir: string): K8sObject[] {
  const { objects, nameReferences } = renderLevel(dir);
  nameGenerated(objects, nameReferences);
  return objects;
}

function renderLevel(dir: string): { objects: K8sObject[]; nameReferences: FieldSpec[] } {
  const objects: K8sObject[] = [];
  const nameReferences: FieldSpec[] = [];
  applyLevel(dir, objects, nameReferences);
  return { objects, nameReferences };
}

/**
 * One kustomization (or component) on the objects accumulated so far, in
 * kustomize's order: its resources, its components, its generators, then its
 * transformers (patches, namespace, labels, images, replacements last).
 */
function applyLevel(dir: string, objects: K8sObject[], nameReferences: FieldSpec[]): void {
  const k = readKustomization(dir);
  nameReferences.push(...readNameReferences(dir, k.configurations));
  const added: K8sObject[] = [];
  for (const res of k.resources ?? []) {
    const full = path.resolve(dir, res);
    if (statSync(full).isDirectory()) {
      const inner = renderLevel(full);
      added.push(...inner.objects);
      nameReferences.push(...inner.nameReferences);
    } else added.push(...(parseYamlFile(full) as K8sObject[]));
  }
  // Not structuredClone: it would drop the mark generated ConfigMaps carry.
  objects.push(...added.map((o) => Object.assign(structuredClone({ ...o }), pickSymbols(o))));
  for (const c of k.components ?? []) applyLevel(path.resolve(dir, c), objects, nameReferences);
  applyGenerators(dir, k.configMapGenerator ?? [], objects);
  for (const p of k.patches ?? []) {
    if (p.path) {
      for (const patch of parseYamlFile(path.resolve(dir, p.path)) as K8sObject[]) {
        const target = objects.find(
          (o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name && groupOf(o) === groupOf(patch),
        );
        if (!target) throw new Error(`patch ${p.path}: no ${patch.kind} ${patch.metadata.name}`);
        if (patch.$patch === 'delete') objects.splice(objects.indexOf(target), 1);
        else mergeInto(target, patch);
      }
    } else if (p.patch && p.target) {
      const ops = parseAllDocuments(p.patch);
      const list = ((Array.isArray(ops) ? ops[0] : ops)!.toJS() ?? []) as JsonPatchOp[];
      for (const o of objects.filter((x) => selects(p.target!, x))) for (const op of list) applyJsonPatch(o, op);
    }
  }
  for (const o of objects) {
    if (k.namespace && !CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    for (const l of k.labels ?? []) o.metadata.labels = { ...o.metadata.labels, ...l.pairs };
    for (const img of k.images ?? []) for (const c of containersOf(o)) c.image = retag(c.image, img);
  }
  for (const r of k.replacements ?? []) applyReplacement(dir, r, objects);
}

function selects(s: Selector, o: K8sObject): boolean {
  return (!s.kind || o.kind === s.kind) && (s.group === undefined || groupOf(o) === s.group) && (!s.name || o.metadata.name === s.name);
}

function applyReplacement(dir: string, r: Replacement, objects: K8sObject[]): void {
  const source = objects.find((o) => selects(r.source, o));
  if (!source) throw new Error(`${dir}: replacement source ${r.source.kind} ${r.source.name ?? ''} not found`);
  const value = r.source.fieldPath.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], source);
  if (typeof value !== 'string') throw new Error(`${dir}: replacement source ${r.source.fieldPath} is not a string`);
  for (const t of r.targets) {
    const matched = objects.filter((o) => selects(t.select, o));
    if (matched.length === 0) throw new Error(`${dir}: replacement target ${t.select.kind} ${t.select.name ?? ''} not found`);
    for (const o of matched) {
      for (const fieldPath of t.fieldPaths) {
        replaceAt(o, fieldPath.split('.'), (old) => {
          const { delimiter, index } = t.options ?? {};
          if (delimiter === undefined) return value;
          const parts = old.split(delimiter);
          parts[index ?? 0] = value;
          return parts.join(delimiter);
        });
      }
    }
  }
}

/** Sets each string the path reaches (`*`: every element or value); a path that does not exist is skipped, as with a wildcard in kustomize. */
function replaceAt(node: unknown, keys: string[], replace: (old: string) => string): void {
  if (!node || typeof node !== 'object') return;
  const [key, ...rest] = keys;
  const record = node as Record<string, unknown>;
  const children = key === '*' ? Object.keys(record) : [key!];
  for (const child of children) {
    if (rest.length > 0) replaceAt(record[child], rest, replace);
    else if (typeof record[child] === 'string') record[child] = replace(record[child] as string);
  }
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

function retag(image: string, img: { name: string; newName?: string; newTag?: string; digest?: string }): string {
  const m = /^(.*?)(?::([^:/]+))?$/.exec(image)!;
  if (m[1] !== img.name) return image;
  if (img.digest) return `${img.newName ?? m[1]}@${img.digest}`;
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
  const keys = op.path
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
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
