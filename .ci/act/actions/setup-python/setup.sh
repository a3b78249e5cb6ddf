#!/usr/bin/env bash
# actions/setup-python stand-in for act runs: pick a host interpreter, report it as the real
# action would, install nothing. Candidates, first match of the requested version wins:
# $SHIPLINE_ACT_PYTHON (the harness's base interpreter), python<version>, python3.
set -euo pipefail
requested="${INPUT_PYTHON_VERSION}"
if [ -z "$requested" ] && [ -n "${INPUT_PYTHON_VERSION_FILE}" ] && [ -f "${INPUT_PYTHON_VERSION_FILE}" ]; then
  requested="$(head -n 1 "${INPUT_PYTHON_VERSION_FILE}" | tr -d '[:space:]')"
fi
candidates=("${SHIPLINE_ACT_PYTHON:-}" python3)
if [ -n "$requested" ]; then
  candidates=("${SHIPLINE_ACT_PYTHON:-}" "python${requested}" python3)
fi
chosen=() fallback=()
for candidate in "${candidates[@]}"; do
  if [ -z "$candidate" ] || ! command -v "$candidate" > /dev/null; then
    continue
  fi
  # sys.executable resolves version-manager shims to the real interpreter
  # a shim that names no installed version (pyenv's python3.12) prints nothing: not a candidate
  mapfile -t probe < <("$candidate" -c 'import platform, sys; print(sys.executable); print(platform.python_version()); print(sys.prefix)' 2> /dev/null || true)
  if [ "${#probe[@]}" -ne 3 ]; then
    continue
  fi
  if [ "${#fallback[@]}" -eq 0 ]; then
    fallback=("${probe[@]}")
  fi
  if [ -z "$requested" ] || [ "${probe[1]}" = "$requested" ] || [[ "${probe[1]}" == "$requested".* ]]; then
    chosen=("${probe[@]}")
    break
  fi
done
if [ "${#chosen[@]}" -eq 0 ]; then
  if [ "${#fallback[@]}" -eq 0 ]; then
    echo "::error title=setup-python stand-in::no python3 on the host PATH"
    exit 1
  fi
  chosen=("${fallback[@]}")
  echo "::warning title=setup-python stand-in::Python ${requested} was requested; using the host's ${chosen[1]}"
fi
interpreter="${chosen[0]}" version="${chosen[1]}" prefix="${chosen[2]}"
echo "actions/setup-python stand-in: using host interpreter $interpreter ($version); installs nothing"
{
  echo "python-version=$version"
  echo "python-path=$interpreter"
  echo "cache-hit=false"
} >> "$GITHUB_OUTPUT"
if [ "${INPUT_UPDATE_ENVIRONMENT}" = "true" ]; then
  {
    echo "pythonLocation=$prefix"
    echo "Python_ROOT_DIR=$prefix"
    echo "Python3_ROOT_DIR=$prefix"
  } >> "$GITHUB_ENV"
  dirname "$interpreter" >> "$GITHUB_PATH"
fi
