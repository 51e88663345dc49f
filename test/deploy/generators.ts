import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseYamlFile, type K8sObject } from './kustomize.js';

/**
 * configMapGenerator and name references for the test resolver
 * (kustomize.ts), as kustomize v5 does them: generated ConfigMaps get a
 * content hash in their name once the whole build is done, and every field a
 * nameReference configuration lists is rewritten to that name. The tests
 * check this renders what `kubectl kustomize` renders.
 */

export interface Generator {
  name: string;
  behavior?: 'create' | 'merge' | 'replace';
  envs?: string[];
  literals?: string[];
  /** `key=path` or `path` (the key is then the file's name): the file's content, verbatim. */
  files?: string[];
  /** disableNameSuffixHash: keep the name as written; labels: added to the ConfigMap. */
  options?: { disableNameSuffixHash?: boolean; labels?: Record<string, string> };
}

/** A nameReference fieldSpec of a `configurations:` file. */
export interface FieldSpec {
  path: string;
  kind?: string;
  group?: string;
}

/** Marks a generated object until the top-level build names it. */
const GENERATED = Symbol('generated');
type Generated = K8sObject & { [GENERATED]?: true };

// kustomize's built-in nameReference entries for ConfigMaps in the pod
// templates CEX uses (Deployment, StatefulSet, Job); Knative Services come
// from knative/base/kustomizeconfig.yaml, read like kustomize reads it.
const BUILTIN_CONFIGMAP_REFS: FieldSpec[] = ['Deployment', 'StatefulSet', 'Job'].flatMap((kind) => [
  { kind, path: 'spec/template/spec/containers/envFrom/configMapRef/name' },
  { kind, path: 'spec/template/spec/containers/env/valueFrom/configMapKeyRef/name' },
  { kind, path: 'spec/template/spec/volumes/configMap/name' },
]);

/** KEY=VALUE lines of an env file; `#` comments and blank lines skipped (kustomize's rules). */
export function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 1) throw new Error(`${file}: not KEY=VALUE: ${line}`);
    out[line.slice(0, eq).trim()] = line.slice(eq + 1);
  }
  return out;
}

/** Applies one kustomization level's configMapGenerator to the objects its resources rendered. */
export function applyGenerators(dir: string, generators: Generator[], objects: K8sObject[]): void {
  for (const g of generators) {
    const data: Record<string, string> = {};
    for (const env of g.envs ?? []) Object.assign(data, readEnvFile(path.resolve(dir, env)));
    for (const literal of g.literals ?? []) {
      const eq = literal.indexOf('=');
      data[literal.slice(0, eq)] = literal.slice(eq + 1);
    }
    for (const file of g.files ?? []) {
      const eq = file.indexOf('=');
      const [key, source] = eq > 0 ? [file.slice(0, eq), file.slice(eq + 1)] : [path.basename(file), file];
      data[key] = readFileSync(path.resolve(dir, source), 'utf8');
    }
    const existing = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === g.name) as Generated | undefined;
    if (g.behavior === 'merge' || g.behavior === 'replace') {
      if (!existing) throw new Error(`${dir}: configMapGenerator ${g.name} ${g.behavior}s into a ConfigMap no resource has`);
      existing.data = g.behavior === 'merge' ? { ...(existing.data as Record<string, string>), ...data } : data;
      continue;
    }
    if (existing) throw new Error(`${dir}: configMapGenerator ${g.name} would create a second ConfigMap of that name`);
    const metadata = g.options?.labels ? { name: g.name, labels: { ...g.options.labels } } : { name: g.name };
    const created: Generated = { apiVersion: 'v1', kind: 'ConfigMap', metadata, data };
    if (!g.options?.disableNameSuffixHash) created[GENERATED] = true;
    objects.push(created);
  }
}

/** The nameReference fieldSpecs for ConfigMaps in the `configurations:` files of a level. */
export function readNameReferences(dir: string, files: string[] = []): FieldSpec[] {
  const specs: FieldSpec[] = [];
  for (const file of files) {
    const [doc] = parseYamlFile(path.resolve(dir, file)) as { nameReference?: { kind: string; fieldSpecs: FieldSpec[] }[] }[];
    for (const ref of doc?.nameReference ?? []) if (ref.kind === 'ConfigMap') specs.push(...ref.fieldSpecs);
  }
  return specs;
}

/**
 * The end of a build: each generated ConfigMap gets `-{hash}` and every
 * reference to its old name (built-in fieldSpecs plus `extra`) follows.
 */
export function nameGenerated(objects: K8sObject[], extra: FieldSpec[]): void {
  const renamed = new Map<string, string>();
  for (const o of objects as Generated[]) {
    if (!o[GENERATED]) continue;
    delete o[GENERATED];
    const name = `${o.metadata.name}-${configMapHash(o.data as Record<string, string>)}`;
    renamed.set(o.metadata.name, name);
    o.metadata.name = name;
  }
  const specs = [...BUILTIN_CONFIGMAP_REFS, ...extra];
  for (const o of objects) {
    for (const spec of specs) {
      if (spec.kind && spec.kind !== o.kind) continue;
      if (spec.group !== undefined && (o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '') !== spec.group) continue;
      rewrite(o, spec.path.split('/'), (old) => renamed.get(old) ?? old);
    }
  }
}

/** Walks `keys` through objects and arrays (a list is walked element by element). */
function rewrite(node: unknown, keys: string[], rename: (old: string) => string): void {
  if (Array.isArray(node)) return node.forEach((n) => rewrite(n, keys, rename));
  if (!node || typeof node !== 'object') return;
  const [key, ...rest] = keys;
  const record = node as Record<string, unknown>;
  if (rest.length === 0) {
    if (typeof record[key!] === 'string') record[key!] = rename(record[key!] as string);
    return;
  }
  rewrite(record[key!], rest, rename);
}

/**
 * kustomize's ConfigMap hash (api/hasher): SHA-256 of Go's JSON encoding of
 * {data, kind, name}, first 10 hex digits with 0 1 3 a e mapped to g h k m t.
 * kustomize looks the name up with a path its YAML library takes as one key,
 * so the name it hashes is always empty; Go escapes < > & in JSON strings.
 */
export function configMapHash(data: Record<string, string>): string {
  const sorted = Object.fromEntries(
    Object.keys(data)
      .sort()
      .map((k) => [k, data[k]]),
  );
  const json = JSON.stringify({ data: sorted, kind: 'ConfigMap', name: '' }).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  const hex = createHash('sha256').update(json).digest('hex');
  return hex.slice(0, 10).replace(/[013ae]/g, (c) => ({ 0: 'g', 1: 'h', 3: 'k', a: 'm', e: 't' })[c as '0']!);
}
