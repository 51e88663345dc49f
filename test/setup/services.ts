import { removeEmbeddedPostgresData, startEmbeddedPostgres, startNatsServer } from '../../shared/devstack/index.js';
import type { Logger } from '../../shared/log/index.js';
import { testPgDir } from '../helpers/pg-dirs.js';
import { dockerAvailable } from './docker.js';
import type { TestBackend } from './provided.js';

/** One server the run uses, and how to let go of it. */
export interface TestService {
  url: string;
  backend: TestBackend;
  stop(): Promise<void>;
}

const PG_IMAGE = 'postgres:17';
const NATS_IMAGE = 'nats:2';

/** DATABASE_URL, else a postgres:17 container, else embedded Postgres on a free port. */
export async function testPostgres(log: Logger, docker: () => Promise<boolean>): Promise<TestService> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv) return { url: fromEnv, backend: 'env', stop: async () => undefined };
  if (await docker()) {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer(PG_IMAGE)
      .withEnvironment({ POSTGRES_PASSWORD: 'postgres' })
      // Test data is thrown away: skip fsync, as the embedded path's initdb does.
      .withCommand(['postgres', '-c', 'fsync=off'])
      .withExposedPorts(5432)
      // The image's entrypoint starts postgres twice (init, then for real).
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    const url = `postgres://postgres:postgres@${container.getHost()}:${container.getMappedPort(5432)}/postgres`;
    return { url, backend: 'docker', stop: async () => void (await container.stop()) };
  }
  const dataDir = await testPgDir('global');
  const pg = await startEmbeddedPostgres({ dataDir, log });
  const stop = async (): Promise<void> => {
    await pg.stop();
    await removeEmbeddedPostgresData(dataDir);
  };
  return { url: pg.url, backend: 'embedded', stop };
}

/** NATS_URL, else a nats:2 container, else a nats-server child on a free port. */
export async function testNats(log: Logger, docker: () => Promise<boolean>): Promise<TestService> {
  const fromEnv = process.env.NATS_URL;
  if (fromEnv) return { url: fromEnv, backend: 'env', stop: async () => undefined };
  if (await docker()) {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer(NATS_IMAGE)
      .withExposedPorts(4222)
      .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
      .start();
    const url = `nats://${container.getHost()}:${container.getMappedPort(4222)}`;
    return { url, backend: 'docker', stop: async () => void (await container.stop()) };
  }
  const nats = await startNatsServer({ log });
  return { url: nats.url, backend: 'embedded', stop: () => nats.stop() };
}

/** dockerAvailable(), asked at most once per run however many services need it. */
export function dockerOnce(): () => Promise<boolean> {
  let answer: Promise<boolean> | undefined;
  return () => (answer ??= dockerAvailable());
}
