import { environmentOf, find, isKnativeService, templateAnnotations, workloads, type Workload } from './deployments.js';
import type { K8sObject } from './kustomize.js';

/** One workload's share of the Postgres connections. */
export interface BudgetLine {
  workload: string;
  /** Pods at full scale: Knative max-scale, or the Deployment's replicas. */
  pods: number;
  /** Pods at full scale during a rollout: two revisions at once, or replicas + maxSurge. */
  rolloutPods: number;
  /** Query pool (CEX_DB_POOL_MAX) per pod. */
  pool: number;
}

/**
 * The Postgres connections CEX can hold, from the manifests: every pod has
 * CEX_DB_POOL_MAX query connections and one LISTEN connection. During a
 * rollout a Knative Service may run its old and its new revision at full
 * scale at once (old pods keep their waiters and streams until they drain),
 * the bridge runs replicas + maxSurge pods, and the migrations Job holds one.
 */
export function connectionBudget(objects: K8sObject[], secrets: Record<string, string> = {}) {
  const lines: BudgetLine[] = workloads(objects)
    .filter((w) => w.target !== 'migrate')
    .map((w) => ({ workload: w.label, pool: Number(environmentOf(w, objects, secrets).CEX_DB_POOL_MAX ?? 10), ...podsOf(w) }));
  const job = workloads(objects).some((w) => w.target === 'migrate') ? 1 : 0;
  const sum = (f: (l: BudgetLine) => number) => lines.reduce((n, l) => n + f(l), 0);
  return {
    lines,
    /** Everything at full scale, no rollout. */
    steady: sum((l) => l.pods * (l.pool + 1)),
    /** Full scale in the middle of a rollout, plus the migrations Job. */
    rollout: sum((l) => l.rolloutPods * (l.pool + 1)) + job,
    /** Behind a transaction pooler: only the LISTEN (and migrator) connections reach Postgres directly. */
    directBehindPooler: sum((l) => l.rolloutPods) + job,
  };
}

function podsOf(w: Workload): { pods: number; rolloutPods: number } {
  if (isKnativeService(w.object)) {
    const max = Number(templateAnnotations(w.object)['autoscaling.knative.dev/max-scale']);
    return { pods: max, rolloutPods: 2 * max };
  }
  const spec = w.object.spec as { replicas: number; strategy?: { rollingUpdate?: { maxSurge?: number } } };
  return { pods: spec.replicas, rolloutPods: spec.replicas + Number(spec.strategy?.rollingUpdate?.maxSurge ?? 1) };
}

/** The table the test prints. */
export function formatBudget(name: string, b: ReturnType<typeof connectionBudget>): string {
  const rows = b.lines.map(
    (l) =>
      `  ${l.workload.padEnd(28)} ${String(l.pods).padStart(3)} pods (${String(l.rolloutPods).padStart(3)} in a rollout) x (${l.pool} + 1) = ${String(l.pods * (l.pool + 1)).padStart(4)} (${l.rolloutPods * (l.pool + 1)})`,
  );
  return [
    `Postgres connections of ${name}:`,
    ...rows,
    `  steady ${b.steady}; rollout peak (two revisions, bridge surge, migrations Job) ${b.rollout}; direct connections behind a transaction pooler ${b.directBehindPooler} + the pooler's own pool`,
  ].join('\n');
}

export { find };
