-- cex_application_of becomes the only home of the app version -> application
-- rule: every create path (REST invoke in one statement or in a transaction,
-- 12/CIP, batches) and the recording of results derive application_name with
-- it, and no TypeScript copy of the rule is left (0004 still names one). The
-- body is unchanged; it is restated so the catalog carries the rule's comment.
-- With Tekton on: the application Tekton lists the version under (its snapshot
-- in tekton_app_versions; NULL when unlisted). With Tekton off: the version
-- name minus its last "-suffix" (a name without a dash after its first
-- character is its own application).
CREATE OR REPLACE FUNCTION cex_application_of(app_version text, tekton_enabled boolean) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
      WHEN app_version IS NULL THEN NULL
      WHEN tekton_enabled THEN (SELECT application_name FROM tekton_app_versions WHERE app_version_name = app_version)
      ELSE regexp_replace(app_version, '^(.+)-[^-]*$', '\1')
    END
  $$;

COMMENT ON FUNCTION cex_application_of(text, boolean) IS
  'The application of an app version: Tekton''s (NULL when unlisted) when tekton_enabled, else the name minus its last -suffix. The only home of this rule.';
