#!/usr/bin/env bash
# Liaison restore drill: restore a backup made by backup.sh into a new, scratch database and prove it whole: the
# files match SHA256SUMS, pg_restore succeeds, and `manage.py verify_audit` holds the restored audit chain against
# every checkpoint in it and against the signed checkpoint file kept with the dump. The scratch database is dropped
# afterwards (RESTORE_KEEP=1 keeps it). Exit 0 only if all of that passes. See docs/deploy.md, "Restore drill".
#
#   restore-drill.sh BACKUP_RUN_DIRECTORY
#   RESTORE_ADMIN_URL  a role that may create databases, on the server to restore into, naming its maintenance
#                      database: postgres://postgres@db-drill.internal:5432/postgres
#   RESTORE_DATABASE   the scratch database's name (default liaison_restore_drill_<time>)
#   RESTORE_EVIDENCE=1 also re-hash every evidence file (verify_evidence) against the storage configured in the
#                      environment, e.g. the backup bucket
#   LIAISON_HOME / LIAISON_MANAGE as for backup.sh
set -euo pipefail

backup="${1:?usage: restore-drill.sh BACKUP_RUN_DIRECTORY}"
admin_url="${RESTORE_ADMIN_URL:?set RESTORE_ADMIN_URL (a role that may create databases)}"
home="${LIAISON_HOME:-/srv/liaison}"
manage="${LIAISON_MANAGE:-$home/.venv/bin/python $home/manage.py}"
database="${RESTORE_DATABASE:-liaison_restore_drill_$(date -u +%Y%m%d%H%M%S)}"
case "$database" in *[!a-z0-9_]*) echo "restore-drill: RESTORE_DATABASE must be [a-z0-9_]" >&2; exit 2;; esac
case "$admin_url" in *\?*) echo "restore-drill: put connection options in PG* variables, not in the URL" >&2; exit 2;; esac
restored_url="${admin_url%/*}/$database"

(cd "$backup" && sha256sum --check --quiet SHA256SUMS)

psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --dbname="$admin_url" -c "CREATE DATABASE $database"
cleanup() {
  if [ "${RESTORE_KEEP:-}" != 1 ]; then
    psql --no-psqlrc --quiet --dbname="$admin_url" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
  else
    echo "restore-drill: kept $restored_url"
  fi
}
trap cleanup EXIT

# --no-owner: the scratch copy belongs to the drill's role; a real restore keeps the owners (docs/deploy.md).
pg_restore --exit-on-error --no-owner --no-privileges --jobs="${RESTORE_JOBS:-2}" \
  --dbname="$restored_url" "$backup/liaison.dump"

export DATABASE_URL="$restored_url"
$manage verify_audit --checkpoint "$backup/audit-checkpoint.p7m"
if [ "${RESTORE_EVIDENCE:-}" = 1 ]; then
  $manage verify_evidence
fi
echo "restore-drill: $backup restored into $database and verified"
