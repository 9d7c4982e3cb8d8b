#!/bin/sh
# Create cti's PostgreSQL role and database, and print the database_url for cti.toml.
#
#   sudo -u postgres sh deploy/postgres-setup.sh [ROLE [DATABASE]]    (default: cti cti)
#
# psql connects as the libpq environment says (PGHOST, PGPORT, PGUSER: a superuser or a role
# with CREATEROLE and CREATEDB); as the postgres OS user no setting is needed. The password
# is CTI_DB_PASSWORD, or a new random one. The URL names CTI_DB_HOST (default: PGHOST, else
# 127.0.0.1) and PGPORT (default 5432). Next: put the URL in /etc/cti/cti.toml and run
#   cti --config /etc/cti/cti.toml db upgrade
set -eu

role=${1:-cti}
database=${2:-$role}
for name in "$role" "$database"; do
    case $name in
        "" | [!a-z_]* | *[!a-z0-9_]*)
            echo "postgres-setup.sh: '$name' is not a plain name (a-z, 0-9, _)" >&2
            exit 2
            ;;
    esac
done
password=${CTI_DB_PASSWORD:-$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')}
host=${CTI_DB_HOST:-${PGHOST:-127.0.0.1}}
port=${PGPORT:-5432}

# The role owns its database (and so its public schema): cti's migrations create tables
# there and need no other right. No superuser, no CREATEDB, no CREATEROLE.
psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 \
    --set role="$role" --set database="$database" --set password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"database" OWNER :"role" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
SQL

echo "database_url = \"postgresql+asyncpg://$role:$password@$host:$port/$database\""
