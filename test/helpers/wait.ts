import type { Sql } from '../../shared/db/index.js';

/**
 * Polls `check` until it holds. `timeoutMs` is a deadline for a wait that
 * went wrong (the machine may be busy: keep it generous), never a claim
 * about how fast anything is; tests assert no durations.
 */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Waits until the database's clock is past `at` (a command's expiresAt, a
 * lease's end): the condition itself, read where it is judged, instead of a
 * sleep that hopes enough time went by.
 */
export async function untilDatabaseTimePasses(sql: Sql, at: Date): Promise<void> {
  await waitUntil(
    async () => (await sql<{ past: boolean }[]>`SELECT now() > ${at}::timestamptz AS past`)[0]!.past,
    `the database clock to pass ${at.toISOString()}`,
  );
}
