import { describe, expect, it } from 'vitest';
import { connectionBudget, formatBudget } from './budget.js';
import { deployments, find } from './deployments.js';

// Issue 17, part 3: the connection budget, including rollouts, computed from
// the manifests and printed; the figures knative/README.md quotes (and the
// role's CONNECTION LIMIT it recommends) are checked here.

describe.each(deployments().map((d) => [d.name, d.objects] as const))('%s', (name, objects) => {
  const secrets = (find(objects, 'Secret', 'cex-secrets')?.stringData ?? {}) as Record<string, string>;
  const budget = connectionBudget(objects, secrets);

  it('prints its connection budget, rollouts included', () => {
    process.stdout.write(`\n${formatBudget(name, budget)}\n`);
    expect(budget.rollout).toBeGreaterThan(budget.steady);
    expect(budget.lines.length).toBeGreaterThan(0);
  });

  it('quotes the figures knative/README.md gives', () => {
    // The production example changes no max-scale or pool: the base's figures are its own.
    if (name !== 'base' && name !== 'overlays/production') return expect(budget.steady).toBeGreaterThan(0);
    expect({ steady: budget.steady, rollout: budget.rollout, direct: budget.directBehindPooler }).toEqual({
      steady: 397,
      rollout: 784,
      direct: 92,
    });
  });

  it('fits the kind Postgres (max_connections) through a rollout', () => {
    const postgres = find(objects, 'StatefulSet', 'postgres');
    // The base and production use a Postgres of their own (the README sizes it).
    if (!postgres) return expect(['base', 'overlays/production']).toContain(name);
    const args = (
      (postgres.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]!.args ?? []
    ).join(' ');
    const max = Number(/max_connections=(\d+)/.exec(args)?.[1] ?? 100);
    // superuser_reserved_connections (3) and a psql or two for the operator.
    expect(budget.rollout + 10).toBeLessThanOrEqual(max);
  });
});
