import * as z from 'zod';
import { UnavailableError } from '../errors/index.js';
import type { AppVersionEntry, TektonSnapshot } from '../store/index.js';
import { fetchPeerJson } from './peers.js';

/** Applications without a tenant in Tekton belong to this one (docs/rest-api.md, "The REST peers CEX calls"). */
export const DEFAULT_TENANT = 'kaa';

// {"{cex}": {"kaa": {"applications": {"<app>": {"versions": {"<ver>": {}}}}}}}
const appConfigsSchema = z.record(
  z.string(),
  z
    .object({
      kaa: z
        .object({
          applications: z
            .record(z.string(), z.object({ versions: z.record(z.string(), z.unknown()).default({}) }).passthrough())
            .default({}),
        })
        .passthrough(),
    })
    .passthrough(),
);

// [{"name": "<app>", "tenantId": "<tenant>"}, …]
const applicationsSchema = z.array(z.object({ name: z.string().min(1), tenantId: z.string().min(1).nullish() }).passthrough());

/**
 * Fetches CEX's configuration from Tekton (both documents: docs/rest-api.md,
 * "The REST peers CEX calls") and flattens it to app version → (application,
 * tenant).
 */
export async function fetchTektonSnapshot(
  tektonUrl: string,
  instanceName: string,
  serviceToken: string | undefined,
  timeoutMs?: number,
): Promise<Omit<TektonSnapshot, 'fetchedAt'>> {
  const [configs, apps] = await Promise.all([
    fetchPeerJson(`${tektonUrl}/api/v1/app-configs?serviceInstanceName=${encodeURIComponent(instanceName)}`, serviceToken, timeoutMs),
    fetchPeerJson(`${tektonUrl}/api/v1/applications`, serviceToken, timeoutMs),
  ]);
  const parsedConfigs = appConfigsSchema.safeParse(configs);
  const parsedApps = applicationsSchema.safeParse(apps);
  if (!parsedConfigs.success || !parsedApps.success) {
    throw new UnavailableError('PEER_BAD_RESPONSE', 'Tekton answered a document of an unexpected shape');
  }
  const tenantOf = new Map(parsedApps.data.map((a) => [a.name, a.tenantId ?? DEFAULT_TENANT]));
  const ours = parsedConfigs.data[instanceName]?.kaa.applications ?? {};
  const applications = new Map<string, string>();
  const versions: AppVersionEntry[] = [];
  for (const [applicationName, app] of Object.entries(ours)) {
    const tenantId = tenantOf.get(applicationName) ?? DEFAULT_TENANT;
    applications.set(applicationName, tenantId);
    for (const appVersionName of Object.keys(app.versions)) versions.push({ appVersionName, applicationName, tenantId });
  }
  return { versions, applications: [...applications].map(([applicationName, tenantId]) => ({ applicationName, tenantId })) };
}
