-- Tenancy and Tekton configuration shared by every instance. Each instance
-- keeps an in-memory copy and reloads it on NOTIFY cex_config (after the
-- writer's commit), after a listener reconnect, and on a slow safety tick.

-- The Tekton configuration (docs/rest-api.md, "The REST peers CEX calls") as one row per listed app version:
-- which application it belongs to and which tenant owns that application.
CREATE TABLE tekton_app_versions (
  app_version_name text PRIMARY KEY,
  application_name text NOT NULL,
  tenant_id        text NOT NULL
);

-- Applications listed by Tekton, also those without versions yet: the
-- per-application list answers 404 only for applications missing here.
CREATE TABLE tekton_applications (
  application_name text PRIMARY KEY,
  tenant_id        text NOT NULL
);

-- When the Tekton configuration was last fetched successfully; readiness
-- waits for this row when Tekton is enabled.
CREATE TABLE config_state (
  name       text PRIMARY KEY,
  fetched_at timestamptz NOT NULL,
  revision   bigint NOT NULL DEFAULT 1
);

-- Tenants unregistered by a 21/TLE event: their tokens are refused on every
-- instance. A table rather than NOTIFY alone, so an instance that was down or
-- reconnecting when the event came still learns it; NOTIFY only makes it fast.
CREATE TABLE tenant_revocations (
  tenant_id  text PRIMARY KEY,
  revoked_at timestamptz NOT NULL DEFAULT now()
);
