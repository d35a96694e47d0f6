#!/usr/bin/env bash
# Refreshes the vendored copy of GitLab's CI JSON schema (the one GitLab's pipeline editor uses)
# in test/support/gitlab-ci-schema/ from gitlab.com, and rewrites SOURCE.md to name what it took.
#
#   scripts/refresh-gitlab-ci-schema.sh <ref>        e.g. v18.2.0, master, or a commit SHA
#
# The ref is first pinned to a commit, so ci.json, NOTICE, VERSION and SOURCE.md all describe the
# same content. GITLAB_PROJECT picks the project (default gitlab-org/gitlab-foss: the history that
# github.com/gitlabhq/gitlabhq mirrors, where the vendored commit can be looked up;
# gitlab-org/gitlab works too, with its own commit ids). Needs curl, node and sha256sum.
set -euo pipefail

ref="${1:?usage: scripts/refresh-gitlab-ci-schema.sh <ref>   (a GitLab tag such as v18.2.0, a branch, or a commit SHA)}"
project="${GITLAB_PROJECT:-gitlab-org/gitlab-foss}"
schema_path="app/assets/javascripts/editor/schema/ci.json"
notice_path="app/assets/javascripts/editor/schema/NOTICE"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/test/support/gitlab-ci-schema"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

urlencode() { node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$1"; }

# 1. Pin the ref: https://docs.gitlab.com/api/commits/#get-a-single-commit
api="https://gitlab.com/api/v4/projects/$(urlencode "$project")"
curl -fsSL "$api/repository/commits/$(urlencode "$ref")" -o "$tmp/commit.json"
commit="$(node -e 'process.stdout.write(JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")).id)' "$tmp/commit.json")"
committed="$(node -e 'process.stdout.write(JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")).committed_date)' "$tmp/commit.json")"
if [[ ! "$commit" =~ ^[0-9a-f]{40}$ ]]; then
  echo "refresh-gitlab-ci-schema: gitlab.com answered no commit id for $project@$ref" >&2
  exit 1
fi

# 2. The files at that commit (raw endpoint of the public project).
raw="https://gitlab.com/$project/-/raw/$commit"
curl -fsSL "$raw/$schema_path" -o "$tmp/ci.json"
curl -fsSL "$raw/$notice_path" -o "$tmp/NOTICE"
curl -fsSL "$raw/VERSION" -o "$tmp/VERSION"
version="$(tr -d '[:space:]' < "$tmp/VERSION")"

# 3. The loader (test/support/gitlab-ci-schema.ts) compiles it with ajv's draft-07 class: refuse a
#    file that is not JSON or that moved to another draft, rather than vendoring it silently.
node -e '
  const schema = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  if (schema.$schema !== "http://json-schema.org/draft-07/schema#") {
    console.error(`refresh-gitlab-ci-schema: the schema now declares ${schema.$schema}; switch the ajv class in test/support/gitlab-ci-schema.ts to that draft first`);
    process.exit(1);
  }
' "$tmp/ci.json"

sha256="$(sha256sum "$tmp/ci.json" | cut -d' ' -f1)"
bytes="$(wc -c < "$tmp/ci.json" | tr -d ' ')"

cat > "$tmp/SOURCE.md" <<EOF
# GitLab CI JSON schema (vendored)

\`ci.json\` is GitLab's own JSON schema for \`.gitlab-ci.yml\`, the one GitLab's pipeline editor
validates with. The tests validate the parent pipeline and every generated child pipeline against
it (test/support/gitlab-ci-schema.ts). Do not edit it by hand: refresh it with
\`scripts/refresh-gitlab-ci-schema.sh <ref>\`, which rewrites this file.

| | |
| --- | --- |
| project | https://gitlab.com/$project |
| file | \`$schema_path\` |
| ref asked for | \`$ref\` |
| commit | \`$commit\` ($committed) |
| GitLab version (VERSION at that commit) | $version |
| URL | $raw/$schema_path |
| sha256 of ci.json | \`$sha256\` ($bytes bytes) |
| JSON Schema draft | draft-07 (ajv's default \`Ajv\` class) |
| licence | Apache-2.0, see NOTICE (copied from \`$notice_path\`) |
EOF

mkdir -p "$dest"
for file in ci.json NOTICE SOURCE.md; do
  mv -f "$tmp/$file" "$dest/$file"
done
echo "vendored $project@$commit (GitLab $version) into ${dest#"$root"/}"
