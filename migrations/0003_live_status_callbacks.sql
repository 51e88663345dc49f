-- CEX schema, version 3: what live status streams (SSE) and result
-- callbacks need. Applied by shared/db/migrate.ts inside one transaction.

-- The transaction that last changed a command's status: its insert, its
-- result, its expiry. A per-endpoint live stream resumes from a Postgres
-- snapshot (pg_current_snapshot): the rows whose status_xid that snapshot
-- does not see are exactly the ones changed since, whatever order their
-- transactions committed in. A sequence or a timestamp taken before commit
-- would let a slow writer's change slip behind a resume point and be lost.
-- Rows from before this migration get '1', visible in every snapshot: they
-- are history. The constant default keeps ADD COLUMN free of a table rewrite;
-- new rows then take the writer's xid.
ALTER TABLE commands ADD COLUMN status_xid xid8 NOT NULL DEFAULT '1';
ALTER TABLE commands ALTER COLUMN status_xid SET DEFAULT pg_current_xact_id();

-- A stream's re-read: the rows of one endpoint changed after a snapshot's
-- xmin, one range scan however long the endpoint's history is.
CREATE INDEX commands_endpoint_changes_idx
  ON commands (endpoint_id, status_xid);

-- A callback is owed once per command: it becomes EXECUTED or EXPIRED once.
CREATE UNIQUE INDEX outbox_callback_idx
  ON outbox (endpoint_id, command_type, command_id)
  WHERE kind = 'callback';

-- The callback deliverer claims its own due rows; a backlog of pushes must
-- not make each of its claims walk past them.
CREATE INDEX outbox_callback_due_idx
  ON outbox (available_at, id)
  WHERE kind = 'callback';
