-- Liaison on PostgreSQL 15+, step 1 of 2, as a superuser, once: the three roles and the database.
--   psql "postgres://postgres@db.internal/postgres" -f deploy/postgresql/1-roles.sql
-- then give each role its password in that psql session, typed (never on a command line):
--   \password liaison_owner    \password liaison_app    \password liaison_backup
-- Then `migrate` as the owner role (liaison-migrate.service), then 2-grants.sql as the owner role.
-- Names may be changed with -v owner=… -v app=… -v backup=… -v database=… (the tests do).
\set ON_ERROR_STOP on
\if :{?owner} \else \set owner liaison_owner \endif
\if :{?app} \else \set app liaison_app \endif
\if :{?backup} \else \set backup liaison_backup \endif
\if :{?database} \else \set database liaison \endif

-- Owns the schema and every table: creates them, their indexes and the audit tables' append-only triggers. Used by
-- migrate only.
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
-- The web, worker and beat processes: reads and writes rows, owns nothing, so it cannot switch a trigger off.
CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
-- Backups: reads everything (the built-in pg_read_all_data), writes nothing.
CREATE ROLE :"backup" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE IN ROLE pg_read_all_data;

CREATE DATABASE :"database" OWNER :"owner" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"database" TO :"app";
GRANT CONNECT ON DATABASE :"database" TO :"backup";
