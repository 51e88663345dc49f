import { StatementBatcher, type Sql } from '../db/index.js';
import { createPlainCommands, type CreateOutcome, type PlainCreate } from '../store/index.js';

/**
 * Plain REST creates (createPlainCommands), grouped across callers under
 * load: at c=64 each create was its own statement and commit. Creates of one
 * endpoint and type never share a statement (each takes the next id of its
 * counter, and a statement may upsert a counter once). Idle, a create runs
 * at once as before.
 */
export class CreateBatcher {
  private readonly batcher: StatementBatcher<PlainCreate, CreateOutcome>;

  constructor(sql: Sql, options: { maxCreates?: number; stallMs?: number } = {}) {
    this.batcher = new StatementBatcher((creates) => createPlainCommands(sql, creates), {
      keysOf: (c) => [`${c.input.endpointId}/${c.input.commandType}`],
      sizeOf: () => 1,
      maxSize: options.maxCreates ?? 200,
      stallMs: options.stallMs ?? 5_000,
    });
  }

  create(plain: PlainCreate): Promise<CreateOutcome> {
    return this.batcher.submit(plain);
  }

  /** Creates submitted and statements run so far. */
  get counts(): { creates: number; statements: number } {
    return { creates: this.batcher.inputs, statements: this.batcher.statements };
  }
}
