-- CEX schema, version 1: commands, endpoint state, id counters, the outbox and
-- batch tasks. Applied by shared/db/migrate.ts inside one transaction; do not
-- add BEGIN/COMMIT here.

-- One row per command. (endpoint_id, command_type, command_id) is the Kaa
-- identity of a command; endpoint ids are unique across a Kaa cluster, so the
-- tenant is a column every REST read filters on, not part of the key (an
-- endpoint's result carries no tenant and must find its command).
CREATE TABLE commands (
  endpoint_id        text        NOT NULL,
  command_type       text        NOT NULL,
  command_id         integer     NOT NULL CHECK (command_id > 0),
  tenant_id          text        NOT NULL,
  status             text        NOT NULL DEFAULT 'PENDING'
                                 CHECK (status IN ('PENDING', 'EXECUTED', 'EXPIRED')),
  status_code        integer,
  reason_phrase      text,
  request_payload    jsonb       NOT NULL DEFAULT 'null',
  response_payload   jsonb,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now(),
  -- When the command becomes EXPIRED. For TTL 0 (push once) this is the end
  -- of the sync caller's wait, the only window in which a result is recorded.
  expires_at         timestamptz NOT NULL,
  ttl_millis         integer     NOT NULL CHECK (ttl_millis >= 0),
  push_once          boolean     NOT NULL DEFAULT false,
  app_version_name   text,
  -- Derived from app_version_name when it is set (Tekton, or the name minus
  -- its last -suffix); stored so the per-application list is one index scan.
  application_name   text,
  origin             text        NOT NULL DEFAULT 'rest' CHECK (origin IN ('rest', 'cip', 'batch')),
  idempotency_key    text,
  cip_reply_subject  text,
  cip_correlation_id text,
  callback_url       text,
  batch_task_id      uuid,
  -- Delivery counters shown in the descriptor's `delivery` block.
  push_count         integer     NOT NULL DEFAULT 0,
  last_pushed_at     timestamptz,
  fetched_at         timestamptz,
  -- Next re-push of this command while it stays outstanding (NULL: none
  -- planned, e.g. the endpoint is offline or does not observe the type).
  next_push_at       timestamptz,
  -- Bumped on every status change; the id of live status (SSE) events.
  version            integer     NOT NULL DEFAULT 1,
  PRIMARY KEY (endpoint_id, command_type, command_id)
);

-- Endpoint polls and pushes read the outstanding commands of one
-- (endpoint, type), oldest first; the partial index holds PENDING rows only,
-- so it stays small however long the history grows.
CREATE INDEX commands_outstanding_idx
  ON commands (endpoint_id, command_type, created_at, command_id)
  WHERE status = 'PENDING';

-- History per endpoint, newest first (createdAt desc, commandId desc): a
-- backward scan of this index, stopping after `limit` rows.
CREATE INDEX commands_endpoint_history_idx
  ON commands (endpoint_id, created_at, command_id);

-- Per-application list within a tenant, keyset-paged on (created_at, key):
-- the cursor resumes with a row comparison on exactly these columns, so any
-- page depth costs one index descent.
CREATE INDEX commands_application_keyset_idx
  ON commands (tenant_id, application_name, created_at, endpoint_id, command_type, command_id);

-- The expiry sweeper finds PENDING commands whose expires_at has passed.
CREATE INDEX commands_expiry_idx
  ON commands (expires_at)
  WHERE status = 'PENDING';

-- The re-push scheduler finds PENDING commands whose next push is due.
CREATE INDEX commands_repush_idx
  ON commands (next_push_at)
  WHERE status = 'PENDING' AND next_push_at IS NOT NULL;

-- Idempotency-Key: one command per (tenant, endpoint, type, key). A command
-- past its TTL releases its key (set to NULL) when the key is reused.
CREATE UNIQUE INDEX commands_idempotency_idx
  ON commands (tenant_id, endpoint_id, command_type, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

-- Batch task counts group the task's commands by status.
CREATE INDEX commands_batch_task_idx
  ON commands (batch_task_id, status)
  WHERE batch_task_id IS NOT NULL;

-- Retention purges finished commands older than CEX_HISTORY_RETENTION_DAYS
-- in small batches, oldest first.
CREATE INDEX commands_retention_idx
  ON commands (updated_at)
  WHERE status <> 'PENDING';

-- The last REST-allocated id per (endpoint, type). Allocation is an upsert
-- that row-locks the counter until commit, so ids never repeat; 12/CIP ids
-- raise the counter past them so later REST ids cannot collide.
CREATE TABLE command_id_counters (
  endpoint_id  text    NOT NULL,
  command_type text    NOT NULL,
  last_id      integer NOT NULL,
  PRIMARY KEY (endpoint_id, command_type)
);

-- What CEX knows of an endpoint: its app version (from 4/ESP traffic and
-- 9/ELCE) and whether it is connected (NULL: never heard of either way).
CREATE TABLE endpoint_state (
  endpoint_id      text        PRIMARY KEY,
  app_version_name text,
  online           boolean,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The endpoint's `observe` flag per command type ('*' for the all-types
-- poll). No row means observe: CEX pushes by default.
CREATE TABLE endpoint_observe (
  endpoint_id  text        NOT NULL,
  command_type text        NOT NULL,
  observe      boolean     NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (endpoint_id, command_type)
);

-- Work the bridge must publish, written in the same transaction as the change
-- that causes it, so a crash between commit and publish loses nothing.
--   push:       send the outstanding commands of (endpoint, type) to the endpoint
--   cip_result: send the command's CommandInvocationResult to its CIP caller
--   callback:   POST the command's descriptor to its callbackUrl
CREATE TABLE outbox (
  id           bigserial   PRIMARY KEY,
  kind         text        NOT NULL CHECK (kind IN ('push', 'cip_result', 'callback')),
  endpoint_id  text        NOT NULL,
  command_type text        NOT NULL,
  command_id   integer,
  -- push: zero-TTL commands to include although they are never outstanding.
  include_ids  integer[]   NOT NULL DEFAULT '{}',
  -- cip_result, callback: what to send, captured when the row was written, so
  -- the answer survives a later DELETE of the command.
  message      jsonb,
  -- Each coalesced request bumps it; a publisher deletes the row only at the
  -- generation it read, so a request that arrives mid-publish is not lost.
  generation   integer     NOT NULL DEFAULT 1,
  attempts     integer     NOT NULL DEFAULT 0,
  delivery_id  uuid        NOT NULL DEFAULT gen_random_uuid(),
  available_at timestamptz NOT NULL DEFAULT now(),
  claimed_until timestamptz,
  last_error   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'push') = (command_id IS NULL))
);

-- Pushes for one (endpoint, type) coalesce into a single pending row: a burst
-- of 100 commands becomes one push of the whole array, not 100 pushes.
CREATE UNIQUE INDEX outbox_push_coalesce_idx
  ON outbox (endpoint_id, command_type)
  WHERE kind = 'push';

-- A CIP result is owed once per command.
CREATE UNIQUE INDEX outbox_cip_result_idx
  ON outbox (endpoint_id, command_type, command_id)
  WHERE kind = 'cip_result';

-- The drainer claims due rows in id order.
CREATE INDEX outbox_due_idx
  ON outbox (available_at, id);

-- A batch invocation (Kaa 1.4): one command per endpoint, counted by status
-- through commands.batch_task_id.
CREATE TABLE batch_tasks (
  task_id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  tenant_id       text        NOT NULL,
  command_type    text        NOT NULL,
  filter_id       text,
  app_name        text,
  request_payload jsonb       NOT NULL DEFAULT 'null',
  endpoint_count  integer     NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);

-- The paged task list of a tenant, newest first.
CREATE INDEX batch_tasks_tenant_idx
  ON batch_tasks (tenant_id, created_at);
