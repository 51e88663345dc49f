-- The application of an app version, in SQL, so a command's create is one
-- statement (one round trip) instead of a read of the endpoint's version
-- followed by the insert. The same rule as TenancyState.applicationOf
-- (shared/tenancy/state.ts), checked against it by test/store/application-of.test.ts:
-- with Tekton on, the application Tekton lists the version under (NULL when
-- unlisted); with Tekton off, the version name minus its last "-suffix".
CREATE FUNCTION cex_application_of(app_version text, tekton_enabled boolean) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
      WHEN app_version IS NULL THEN NULL
      WHEN tekton_enabled THEN (SELECT application_name FROM tekton_app_versions WHERE app_version_name = app_version)
      ELSE regexp_replace(app_version, '^(.+)-[^-]*$', '\1')
    END
  $$;
