// What test/setup/global-setup.ts hands to test files through vitest's
// provide()/inject(). The module augmentation types inject('pgAdminUrl') etc.;
// importing anything from this file brings it into scope.

/** Where the run's Postgres and NATS came from. */
export type TestBackend = 'env' | 'docker' | 'embedded';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser (or CREATEDB) URL on the test Postgres server. */
    pgAdminUrl: string;
    /** Migrated database that every per-file database is cloned from. */
    pgTemplateDb: string;
    /** Prefix of every database this run creates: `cex_test_<run>`. */
    pgDbPrefix: string;
    natsUrl: string;
    testBackends: { postgres: TestBackend; nats: TestBackend };
  }
}

/** Same server, another database: swaps the URL's path, keeps user, host and query. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = '/' + encodeURIComponent(database);
  return url.toString();
}
