import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import path from 'node:path';

// Importing testcontainers alone costs ~0.5 s (measured), so look for the
// places it would find an engine before loading it at all.
function dockerHinted(): boolean {
  if (process.env.DOCKER_HOST || process.env.TESTCONTAINERS_HOST_OVERRIDE) return true;
  const candidates = [
    '/var/run/docker.sock',
    path.join(homedir(), '.testcontainers.properties'),
    path.join(homedir(), '.docker', 'run', 'docker.sock'),
    path.join(homedir(), '.docker', 'desktop', 'docker.sock'),
    path.join('/run', 'user', String(userInfo().uid), 'docker.sock'),
  ];
  if (process.env.XDG_RUNTIME_DIR) candidates.push(path.join(process.env.XDG_RUNTIME_DIR, 'docker.sock'));
  return candidates.some((p) => existsSync(p));
}

/**
 * True when a container engine answers within `timeoutMs`. CEX_TEST_DOCKER=0
 * skips it (e.g. an engine without access to image registries). A DOCKER_HOST
 * pointing at a dead TCP address would otherwise hang until the TCP timeout;
 * the race caps that.
 */
export async function dockerAvailable(timeoutMs = 3_000): Promise<boolean> {
  if (process.env.CEX_TEST_DOCKER === '0' || !dockerHinted()) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  const probe = import('testcontainers')
    .then(({ getContainerRuntimeClient }) => getContainerRuntimeClient())
    .then(
      () => true,
      () => false,
    );
  const result = await Promise.race([probe, timeout]);
  clearTimeout(timer);
  return result;
}
