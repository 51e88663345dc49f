import type { Sql } from '../db/index.js';
import { withTransaction } from '../db/index.js';

export interface AppVersionEntry {
  appVersionName: string;
  applicationName: string;
  tenantId: string;
}

export interface TektonSnapshot {
  versions: AppVersionEntry[];
  applications: { applicationName: string; tenantId: string }[];
  fetchedAt: Date | null;
}

/** Replaces the stored Tekton configuration in one transaction. */
export async function saveTektonSnapshot(sql: Sql, snapshot: Omit<TektonSnapshot, 'fetchedAt'>): Promise<void> {
  await withTransaction(sql, async (tx) => {
    await tx`DELETE FROM tekton_app_versions`;
    await tx`DELETE FROM tekton_applications`;
    if (snapshot.applications.length) {
      await tx`
        INSERT INTO tekton_applications (application_name, tenant_id)
        SELECT * FROM unnest(${snapshot.applications.map((a) => a.applicationName)}::text[],
                             ${snapshot.applications.map((a) => a.tenantId)}::text[])`;
    }
    if (snapshot.versions.length) {
      await tx`
        INSERT INTO tekton_app_versions (app_version_name, application_name, tenant_id)
        SELECT * FROM unnest(${snapshot.versions.map((v) => v.appVersionName)}::text[],
                             ${snapshot.versions.map((v) => v.applicationName)}::text[],
                             ${snapshot.versions.map((v) => v.tenantId)}::text[])`;
    }
    await tx`
      INSERT INTO config_state (name, fetched_at) VALUES ('tekton', now())
      ON CONFLICT (name) DO UPDATE SET fetched_at = now(), revision = config_state.revision + 1`;
  });
}

export async function loadTektonSnapshot(sql: Sql): Promise<TektonSnapshot> {
  const [versions, applications, state] = await Promise.all([
    sql<AppVersionEntry[]>`
      SELECT app_version_name AS "appVersionName", application_name AS "applicationName", tenant_id AS "tenantId"
        FROM tekton_app_versions`,
    sql<{ applicationName: string; tenantId: string }[]>`
      SELECT application_name AS "applicationName", tenant_id AS "tenantId" FROM tekton_applications`,
    sql<{ fetchedAt: Date }[]>`SELECT fetched_at AS "fetchedAt" FROM config_state WHERE name = 'tekton'`,
  ]);
  return { versions: [...versions], applications: [...applications], fetchedAt: state[0]?.fetchedAt ?? null };
}

export async function revokeTenant(sql: Sql, tenantId: string): Promise<void> {
  await sql`INSERT INTO tenant_revocations (tenant_id) VALUES (${tenantId}) ON CONFLICT (tenant_id) DO NOTHING`;
}

/** A tenant updated after its unregistration is accepted again. */
export async function restoreTenant(sql: Sql, tenantId: string): Promise<void> {
  await sql`DELETE FROM tenant_revocations WHERE tenant_id = ${tenantId}`;
}

export async function listRevokedTenants(sql: Sql): Promise<string[]> {
  const rows = await sql<{ tenantId: string }[]>`SELECT tenant_id AS "tenantId" FROM tenant_revocations`;
  return rows.map((r) => r.tenantId);
}
