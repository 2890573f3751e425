#!/usr/bin/env bash
# Runs every prunekit command of README.md verbatim, in README order, the way a reader would: from
# the repository root, with `prunekit` on PATH (the release build). Heavy ones included (training,
# iterative pruning, the demo, benchmarks, energy): this takes about an hour on 2 cores, so CI runs
# only the cheap ones (Tests/PruneKitCLITests/ReadmeCommandTests.swift, which also parses them all).
#
#   swift build -c release -Xswiftc -enable-testing && scripts/check_readme_commands.sh [--list] [FILTER]
#
# A command whose synopsis holds placeholders (M, [--bits …], a|b) is not run; ReadmeCommandTests
# checks its flags. Files the commands write in the repository root are removed at the end
# (demo-output/ and .prunekit-cache/ are kept: the README says where the demo writes).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
[ -x .build/release/prunekit ] || { echo "error: build first: swift build -c release" >&2; exit 1; }
export PATH="$root/.build/release:$PATH"
list_only=0
if [ "${1:-}" = "--list" ]; then list_only=1; shift; fi
filter="${1:-}"

# The same extraction as ReadmeCommandTests.commands(): code-block lines (comments cut) and the
# backticked cells of tables, split on ' && ', prunekit invocations only, placeholders skipped.
commands=$(python3 - <<'PY'
import re
inside = False
section = ""
for line in open("README.md", encoding="utf-8").read().split("\n"):
    if line.startswith("```"):
        inside = not inside
        continue
    if line.startswith("## "):
        section = line
    if inside:
        candidates = [line.split("#", 1)[0]]
    elif line.startswith("|"):
        candidates = line.split("`")[1::2]
    else:
        continue
    for candidate in candidates:
        # The whole line or cell runs (a prunekit command may need the python3 step before it).
        found = False
        placeholder = False
        for part in candidate.split(" && "):
            words = part.split()
            while words and "=" in words[0] and not words[0].startswith("-"):
                words.pop(0)
            if words[:5] == ["swift", "run", "-c", "release", "prunekit"]:
                args = words[5:]
            elif words and (words[0] == "prunekit" or words[0].endswith("/prunekit")):
                args = words[1:]
            else:
                continue
            found = True
            placeholder = placeholder or any(c in part for c in "[…") or "\\|" in part or any(
                re.fullmatch(r"[A-Z]+(\.[a-z]+)?", a) for a in args)
        if found and not placeholder and "The CLI at a glance" not in section:
            print(candidate.strip())
PY
)

before=$(git status --porcelain --untracked-files=all | sed 's/^?? //' | sort)
failed=0
count=0
while IFS= read -r command; do
  [ -n "$command" ] || continue
  case "$command" in *"$filter"*) ;; *) continue ;; esac
  count=$((count + 1))
  if [ $list_only = 1 ]; then echo "$command"; continue; fi
  echo "== $command"
  # A data folder the README names by absolute path (Fashion-MNIST) may not be on this machine.
  missing=""
  for word in $command; do
    case "$word" in /tmp/*) ;; /*) [ -e "$word" ] || missing="$word" ;; esac
  done
  if [ -n "$missing" ]; then echo "   skipped: $missing is not on this machine"; continue; fi
  start=$(date +%s)
  if bash -c "$command" > /tmp/prunekit-readme-$$.log 2>&1; then
    echo "   ok ($(( $(date +%s) - start )) s)"
  else
    echo "   FAILED (status $?); last lines:"
    tail -5 /tmp/prunekit-readme-$$.log | sed 's/^/   /'
    failed=$((failed + 1))
  fi
done <<< "$commands"
rm -f /tmp/prunekit-readme-$$.log
if [ $list_only = 0 ]; then
  after=$(git status --porcelain --untracked-files=all | sed 's/^?? //' | sort)
  comm -13 <(echo "$before") <(echo "$after") | while IFS= read -r made; do
    [ -n "$made" ] && [ -f "$made" ] && rm -f -- "$made"
  done
  echo "$count commands, $failed failed"
fi
[ $failed = 0 ]
