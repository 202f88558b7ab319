-- Liaison on PostgreSQL 15+, step 2 of 2, as the OWNER role connected to the database, after `migrate`; harmless
-- to run again after every release (liaison-migrate.service does).
--   DATABASE_URL=<the owner's> manage.py dbshell -- --no-psqlrc -f deploy/postgresql/2-grants.sql
-- (dbshell hands psql the password in its environment, not on the command line; -v app=… for another name)
\set ON_ERROR_STOP on
\if :{?app} \else \set app liaison_app \endif

-- Nobody but the owner creates anything in the schema (PostgreSQL 15's default; kept explicit).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app";

-- Rows of every table and sequence, now and in later releases (tables migrate creates as this role).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO :"app";

-- The audit log is appended to, never changed: the triggers refuse it anyway, and the role is not even allowed to
-- ask. Never grant it TRUNCATE, ownership, membership in the owner role, or CREATE on the schema.
REVOKE UPDATE, DELETE, TRUNCATE ON cases_auditevent, cases_auditcheckpoint FROM :"app";
