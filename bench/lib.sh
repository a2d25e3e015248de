# Shared by the bench scripts: `. bench/lib.sh`.

# Exports DATABASE_URL for a fresh database called NAME: on PostgreSQL when ADMIN_URL names an
# administrative database (dropped and created again), otherwise a SQLite file in WORKDIR;
# then migrates it.
fresh_database() {
  local name=$1 workdir=$2
  if [ -n "${ADMIN_URL:-}" ]; then
    psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
    export DATABASE_URL="${ADMIN_URL%/*}/$name"
  else
    export DATABASE_URL="$workdir/$name.db"
  fi
  target/release/confab migrate >/dev/null
}

# An organisation called NAME and a test key for it; prints the key.
key_for() {
  target/release/confab organisations create --name "$1" >/dev/null
  target/release/confab keys create --organisation "$1" --test | tail -n 1
}
