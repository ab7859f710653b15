#!/usr/bin/env bash
# pip-audit of requirements.txt (what production installs, with its dependencies) against
# the Python Packaging Advisory data that PyPI serves. Exit status:
#   0  every package was audited and none has a known vulnerability
#   1  a known vulnerability (upgrade the pin, run the tests), or some packages could not be
#      audited while others could
#   2  the vulnerability service did not answer for any package (no network to PyPI's JSON
#      API, or a mirror without it): nothing was audited. PIP_AUDIT_OFFLINE=warn turns this
#      into a loud warning and exit 0, for machines that cannot reach it (see .ci/run).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

report=$(mktemp)
log=$(mktemp)
trap 'rm -f "$report" "$log"' EXIT

status=0
# pip-audit's own summary says "No known vulnerabilities found" even when it audited nothing:
# its output is shown only when it fails; the summary below counts what was audited.
.venv/bin/pip-audit -r requirements.txt --progress-spinner off -f json -o "$report" \
  2>"$log" || { status=$?; cat "$log" >&2; }

.venv/bin/python - "$report" "$status" "${PIP_AUDIT_OFFLINE:-fail}" <<'PY'
import json
import sys

path, status, offline = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    with open(path, encoding="utf-8") as handle:
        dependencies = json.load(handle)["dependencies"]
except (OSError, ValueError, KeyError):
    print(f"pip-audit: failed before auditing anything (exit {status})", file=sys.stderr)
    sys.exit(1)

vulnerable = [d for d in dependencies if d.get("vulns")]
skipped = [d for d in dependencies if "skip_reason" in d]
audited = len(dependencies) - len(skipped)
for dependency in vulnerable:
    for vuln in dependency["vulns"]:
        fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version"
        print(f"VULNERABLE {dependency['name']} {dependency['version']}: {vuln['id']} ({fixes})")
print(f"pip-audit: {len(dependencies)} packages, {audited} audited, {len(skipped)} not audited, "
      f"{len(vulnerable)} with known vulnerabilities")
if vulnerable:
    sys.exit(1)
if skipped and not audited:
    reason = skipped[0]["skip_reason"]
    print(f"pip-audit: NOTHING AUDITED: the vulnerability service did not answer ({reason})",
          file=sys.stderr)
    sys.exit(0 if offline == "warn" else 2)
if skipped:
    for dependency in skipped:
        print(f"NOT AUDITED {dependency['name']}: {dependency['skip_reason']}", file=sys.stderr)
    sys.exit(1)
print("pip-audit: no known vulnerabilities")
PY
