import postgres from 'postgres';
import type { Logger } from '../log/index.js';
import { classifyPgError } from '../errors/index.js';

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

export interface PoolOptions {
  max: number;
  applicationName: string;
  log?: Logger;
  /** False behind a transaction-mode pooler (CEX_DB_POOLER=transaction). Default true. */
  prepare?: boolean;
  /**
   * False: a connection never has a second query sent behind one in flight
   * (postgres.js max_pipeline 0). Default: pipelined, unless unprepared.
   */
  pipeline?: boolean;
}

/**
 * The process's query pool. postgres.js connects lazily, so creating it at
 * start costs nothing (cold start) and a database outage surfaces as query
 * errors that the edges turn into 503.
 */
export function createPool(url: string, options: PoolOptions): Sql {
  return postgres(url, {
    max: options.max,
    idle_timeout: 30,
    connect_timeout: 10,
    max_lifetime: 60 * 30,
    prepare: options.prepare ?? true,
    // Behind a transaction-mode pooler nothing is pipelined behind a query in
    // flight: PgBouncer hands a server connection back at each ReadyForQuery
    // and the pipelined bytes of the next query wedged the client connection
    // (test/store/pooler.test.ts hung in 3 runs of 5 with 40 concurrent
    // creates over 2 server connections). sql.begin() works with 0 only with
    // our postgres.js patch (shared/db/patch-postgres.mjs, onexecute).
    ...(options.prepare === false || options.pipeline === false ? { max_pipeline: 0 } : {}),
    onnotice: (notice) => options.log?.debug({ notice: notice.message }, 'postgres notice'),
    connection: { application_name: options.applicationName },
  });
}

/**
 * Runs `work` in one transaction, retrying serialization failures and
 * deadlocks (SQLSTATE 40001/40P01) a few times with a short jittered backoff.
 * Anything else propagates at once.
 */
export async function withTransaction<T>(sql: Sql, work: (tx: TransactionSql) => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await sql.begin((tx) => work(tx))) as T;
    } catch (err) {
      if (attempt >= attempts || classifyPgError(err) !== 'retryable') throw err;
      await sleep(10 * 2 ** attempt + Math.random() * 10);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Quotes an identifier (channel, database name) for the few statements that cannot take parameters. */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}
