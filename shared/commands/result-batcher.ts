import { StatementBatcher, type Sql } from '../db/index.js';
import type { Command } from '../domain/index.js';
import { recordPlainResults, type PlainResults } from '../store/index.js';

/**
 * The plain share of endpoints' results (recordPlainResults), grouped across
 * callers under load: at c=64 each result was its own statement and commit,
 * and the async workload spent most of Postgres' time starting statements
 * and waiting on WAL flushes. Idle, a result runs at once as before.
 */
export class ResultBatcher {
  private readonly batcher: StatementBatcher<PlainResults, Command[]>;

  constructor(sql: Sql, tektonEnabled: () => boolean, options: { maxRows?: number; stallMs?: number } = {}) {
    this.batcher = new StatementBatcher((groups) => recordPlainResults(sql, groups, tektonEnabled()), {
      keysOf: (g) => g.results.map((r) => `${g.endpointId}/${g.commandType}/${r.commandId}`),
      sizeOf: (g) => g.results.length,
      maxSize: options.maxRows ?? 500,
      stallMs: options.stallMs ?? 5_000,
    });
  }

  record(group: PlainResults): Promise<Command[]> {
    return this.batcher.submit(group);
  }

  /** Results submitted and statements run so far (what grouping saved is the difference). */
  get counts(): { groups: number; statements: number } {
    return { groups: this.batcher.inputs, statements: this.batcher.statements };
  }
}
