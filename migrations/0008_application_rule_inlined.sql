-- CEX schema, version 8: cex_application_of (0005) restated so the planner
-- inlines it. Applied by shared/db/migrate.ts inside one transaction.
--
-- Postgres inlines a scalar LANGUAGE sql function into the calling statement
-- only when its body holds no sub-select. 0005's body looked Tekton's
-- application up with one, so every call ran through the SQL-function
-- executor: in the batch INSERT of 10,000 commands that was 44 ms for NULL
-- versions alone (2 ms inlined; 74 → 32 ms for named versions), and it cost
-- every single create too. The Tekton lookup moves to a function of its own,
-- called from the CASE, so the rule stays in one place and is inlined; with
-- Tekton off the lookup is never evaluated. Same answers as 0005 for every
-- input (test/store/application-of.test.ts).
CREATE FUNCTION cex_tekton_application(app_version text) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT application_name FROM tekton_app_versions WHERE app_version_name = app_version
  $$;

COMMENT ON FUNCTION cex_tekton_application(text) IS
  'The application Tekton lists an app version under (its snapshot in tekton_app_versions), NULL when unlisted. Used by cex_application_of only.';

CREATE OR REPLACE FUNCTION cex_application_of(app_version text, tekton_enabled boolean) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
      WHEN app_version IS NULL THEN NULL
      WHEN tekton_enabled THEN cex_tekton_application(app_version)
      ELSE regexp_replace(app_version, '^(.+)-[^-]*$', '\1')
    END
  $$;
