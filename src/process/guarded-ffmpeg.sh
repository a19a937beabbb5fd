#!/bin/sh
# ffmpeg that cannot outlive Volet, even after `kill -9` of Volet (see child-lifetime.ts).
# Stage 1 arms the kernel's parent-death signal (prctl PR_SET_PDEATHSIG) and re-runs this script;
# every step is an exec, so the armed process is the very process that becomes ffmpeg.
if [ "$1" != --volet-guarded ]; then
  exec setpriv --pdeathsig KILL -- "$0" --volet-guarded "$@"
fi
shift
# Armed from here on. A Volet that died before the arming left this process to another parent.
if [ "$PPID" != "${VOLET_OWNER%%:*}" ]; then
  echo "Volet (pid ${VOLET_OWNER%%:*}) is gone: not starting ffmpeg" >&2
  exit 1
fi
ffmpeg="${FFMPEG_PATH:-ffmpeg}"
command -v "$ffmpeg" >/dev/null 2>&1 || { echo "Cannot find ffmpeg ($ffmpeg)" >&2; exit 127; }
exec "$ffmpeg" "$@"
