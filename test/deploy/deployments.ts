import path from 'node:path';
import { UNIT_ROUTE_SETS, type UnitRouteSet } from '../../shared/config/index.js';
import { containersOf, KNATIVE_DIR, render, type K8sObject } from './kustomize.js';

/** One way of deploying CEX: the app kustomization and its migrations Job kustomization. */
export interface Deployment {
  name: string;
  objects: K8sObject[];
}

/**
 * The base as written, the kind overlay and the production example as
 * applied (each with its migrations Job; production with the Gateway and
 * ReferenceGrant its platform/ root gives the ingress's owners).
 */
export function deployments(): Deployment[] {
  const build = (...roots: string[]): K8sObject[] => roots.flatMap((root) => render(path.join(KNATIVE_DIR, root)));
  return [
    { name: 'base', objects: build('base', 'migrate') },
    { name: 'overlays/kind', objects: build('overlays/kind', 'overlays/kind/migrate') },
    { name: 'overlays/production', objects: build('overlays/production', 'overlays/production/migrate', 'overlays/production/platform') },
  ];
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}

export interface Container {
  name: string;
  image: string;
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: { httpGet?: { path: string; port: number | string } };
  livenessProbe?: { httpGet?: { path: string; port: number | string } };
}

/** A CEX workload: any object whose container sets FUNCTION_TARGET. */
export interface Workload {
  object: K8sObject;
  container: Container;
  target: string;
  label: string;
}

export function workloads(objects: K8sObject[]): Workload[] {
  const out: Workload[] = [];
  for (const object of objects) {
    for (const container of containersOf(object) as unknown as Container[]) {
      const target = container.env?.find((e) => e.name === 'FUNCTION_TARGET')?.value;
      if (target) out.push({ object, container, target, label: `${object.kind} ${object.metadata.name}` });
    }
  }
  return out;
}

/** What of its unit a workload serves: its CEX_UNIT_ROUTES (a literal on the container), `all` when unset. */
export function unitRoutesOf(w: Workload): UnitRouteSet {
  const value = w.container.env?.find((e) => e.name === 'CEX_UNIT_ROUTES')?.value ?? 'all';
  if (!(UNIT_ROUTE_SETS as readonly string[]).includes(value)) throw new Error(`${w.label}: CEX_UNIT_ROUTES=${value}`);
  return value as UnitRouteSet;
}

export const isKnativeService = (o: K8sObject): boolean => o.apiVersion.startsWith('serving.knative.dev/') && o.kind === 'Service';

export function find(objects: K8sObject[], kind: string, name: string, group?: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name && (group === undefined || o.apiVersion.split('/')[0] === group));
}

/** The ConfigMap kustomize generated as `name`: `name-{10-character content hash}`. */
export function generatedConfigMap(objects: K8sObject[], name: string): K8sObject | undefined {
  const pattern = new RegExp(`^${name}-[a-z0-9]{10}$`);
  return objects.find((o) => o.kind === 'ConfigMap' && pattern.test(o.metadata.name));
}

/** The data of ConfigMap `name`, or of the one generated as `name`. */
export function configMapData(objects: K8sObject[], name: string): Record<string, string> {
  const cm = find(objects, 'ConfigMap', name) ?? generatedConfigMap(objects, name);
  if (!cm) throw new Error(`ConfigMap ${name} not found`);
  return (cm.data ?? {}) as Record<string, string>;
}

/** Template annotations of a Knative Service (autoscaling.knative.dev/...). */
export function templateAnnotations(o: K8sObject): Record<string, string> {
  return ((o.spec as { template?: { metadata?: { annotations?: Record<string, string> } } }).template?.metadata?.annotations ??
    {}) as Record<string, string>;
}

/** Knative revision spec fields (containerConcurrency, the timeouts). */
export function revisionSpec(o: K8sObject): {
  containerConcurrency?: number;
  timeoutSeconds?: number;
  responseStartTimeoutSeconds?: number;
  idleTimeoutSeconds?: number;
  terminationGracePeriodSeconds?: number;
} {
  return (o.spec as { template: { spec: Record<string, number> } }).template.spec;
}

/**
 * What the process of `w` sees in its environment, with secrets replaced by
 * well-formed placeholders (their values are not in the repository, apart
 * from the kind overlay's dev-only Secret, which `secrets` may supply).
 */
export function environmentOf(w: Workload, objects: K8sObject[], secrets: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of w.container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, configMapData(objects, from.configMapRef.name));
  }
  const placeholders: Record<string, string> = {
    DATABASE_URL: 'postgres://cex:placeholder@postgres:5432/cex',
    CEX_SERVICE_TOKEN: 'placeholder-token',
    CEX_CALLBACK_SECRET: 'placeholder-callback-secret',
    CEX_INTERNAL_TOKEN: 'placeholder-internal-token-0123456789abcdef',
  };
  for (const e of w.container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      const value = secrets[e.valueFrom.secretKeyRef.key] ?? placeholders[e.name];
      // An optional key the Secret does not hold is simply not set.
      if (value !== undefined) env[e.name] = value;
      else if (!e.valueFrom.secretKeyRef.optional) env[e.name] = 'placeholder';
    } else if (e.valueFrom?.fieldRef) env[e.name] = 'nats-bridge-5d8f7c9b6d-x2x7z';
  }
  // Knative sets PORT on every revision.
  if (isKnativeService(w.object)) env.PORT = String(w.container.ports?.[0]?.containerPort ?? 8080);
  return env;
}
