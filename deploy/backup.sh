#!/usr/bin/env bash
# Liaison backup: a signed audit checkpoint kept beside the dump, the database in pg_dump's custom format (checked
# readable), and optionally the object storage bucket; SHA256SUMS over the files. See docs/deploy.md, "Backups".
#
#   BACKUP_DATABASE_URL  postgres://liaison_owner@db.internal:5432/liaison (a role that reads every table; default:
#                        DATABASE_URL). Passwords from ~/.pgpass or PGPASSFILE, never on the command line.
#   BACKUP_DIR           where each run makes a directory named for its UTC time (default /var/backups/liaison)
#   LIAISON_HOME         the release (default /srv/liaison); LIAISON_MANAGE overrides the manage.py command
#   BACKUP_OBJECTS_TO    optional: s3://backup-bucket/prefix, synced from LIAISON_S3_BUCKET with the aws CLI
#   BACKUP_KEEP_DAYS     optional: remove this host's run directories older than this many days
#
# Run it with the application's environment (EnvironmentFile=/etc/liaison/liaison.env), as liaison-backup.service does.
set -euo pipefail
umask 077

database_url="${BACKUP_DATABASE_URL:-${DATABASE_URL:?set BACKUP_DATABASE_URL or DATABASE_URL}}"
home="${LIAISON_HOME:-/srv/liaison}"
manage="${LIAISON_MANAGE:-$home/.venv/bin/python $home/manage.py}"
root="${BACKUP_DIR:-/var/backups/liaison}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
target="$root/$stamp"
mkdir -p "$target"
echo "backup: $target"

# 1. A signed checkpoint of the audit chain's head, taken just before the dump and kept outside the database: a
#    restore is verified against it (restore-drill.sh), so a dump whose newest events were removed or rewritten,
#    together with the checkpoints inside it, does not pass.
$manage make_audit_checkpoint --output "$target/audit-checkpoint.p7m"

# 2. The database: custom format (compressed, restorable table by table, in parallel with pg_restore --jobs),
#    then read back through pg_restore's table of contents so a truncated file is noticed now, not on restore day.
pg_dump --format=custom --no-password --file="$target/liaison.dump" --dbname="$database_url"
pg_restore --list "$target/liaison.dump" > "$target/liaison.dump.list"
grep -q "TABLE DATA public cases_auditevent" "$target/liaison.dump.list"

# 3. Files (evidence, stored e-mail, reports). Their names are never reused, so a sync copies only new objects.
if [ -n "${BACKUP_OBJECTS_TO:-}" ]; then
  endpoint=()
  [ -n "${AWS_S3_ENDPOINT_URL:-}" ] && endpoint=(--endpoint-url "$AWS_S3_ENDPOINT_URL")
  source="s3://${LIAISON_S3_BUCKET:?BACKUP_OBJECTS_TO needs LIAISON_S3_BUCKET}"
  [ -n "${LIAISON_S3_PREFIX:-}" ] && source="$source/${LIAISON_S3_PREFIX#/}"
  aws "${endpoint[@]}" s3 sync --only-show-errors "$source" "$BACKUP_OBJECTS_TO"
  echo "objects: $source -> $BACKUP_OBJECTS_TO" > "$target/objects.txt"
fi

(cd "$target" && sha256sum -- * > SHA256SUMS)

if [ -n "${BACKUP_KEEP_DAYS:-}" ]; then
  find "$root" -mindepth 1 -maxdepth 1 -type d -name '20*T*Z' -mtime +"$BACKUP_KEEP_DAYS" -exec rm -rf -- {} +
fi
echo "backup: done, $(du -sh "$target" | cut -f1)"
