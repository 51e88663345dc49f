import { ValidationError } from '../../shared/errors/index.js';
import type { KeysetPosition, SortField, SortOrder } from '../../shared/store/index.js';

/**
 * The opaque keyset cursor of the per-application list: where the last page
 * ended, under which sort and filter, and which page number that was. It is
 * base64url JSON, not a secret: every query is still filtered by the
 * caller's tenant, so a forged cursor can only page through the caller's own data.
 */
export interface Cursor {
  v: 1;
  sort: SortField;
  order: SortOrder;
  /** The filter the cursor was made under; a cursor is refused under another. */
  filter: string;
  page: number;
  /**
   * totalElements as counted for the walk's first page. Counting is O(rows)
   * (~150 ms at 1,000,000 here), so keyset pages carry the count instead of
   * redoing it: a walk stays O(page) at any depth, and its totals stay
   * consistent with each other while new commands arrive.
   */
  total: number;
  after: KeysetPosition;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!isCursor(value)) throw invalid();
  return value;
}

function isCursor(v: unknown): v is Cursor {
  if (!v || typeof v !== 'object') return false;
  const c = v as Partial<Cursor>;
  const a = c.after as Partial<KeysetPosition> | undefined;
  return (
    c.v === 1 &&
    (c.sort === 'createdAt' || c.sort === 'updatedAt' || c.sort === 'commandId') &&
    (c.order === 'asc' || c.order === 'desc') &&
    typeof c.filter === 'string' &&
    Number.isInteger(c.page) &&
    (c.page as number) >= 0 &&
    Number.isInteger(c.total) &&
    (c.total as number) >= 0 &&
    !!a &&
    (typeof a.value === 'string' || typeof a.value === 'number') &&
    typeof a.endpointId === 'string' &&
    typeof a.commandType === 'string' &&
    Number.isInteger(a.commandId) &&
    (c.sort === 'commandId' ? Number.isInteger(a.value) : typeof a.value === 'string' && !Number.isNaN(Date.parse(a.value)))
  );
}

function invalid(): ValidationError {
  return new ValidationError('INVALID_CURSOR', 'cursor is not a value this API returned as nextCursor');
}
