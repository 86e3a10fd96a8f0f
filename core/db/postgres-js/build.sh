#!/usr/bin/env bash
# Rebuilds postgres-3.4.9-crm.1.tgz from the registry's postgres 3.4.9 and connection-guards.patch
# (see README.md here). The archive is byte-for-byte the same on every run, so its integrity in
# package-lock.json changes only when the patch does.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack postgres@3.4.9 --silent >/dev/null
tar xzf postgres-3.4.9.tgz
patch --quiet -p1 -d package < "$here/connection-guards.patch"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='1985-10-26 08:15Z' -cf - package | gzip -n -9 > "$here/postgres-3.4.9-crm.1.tgz"
echo "built $here/postgres-3.4.9-crm.1.tgz"
