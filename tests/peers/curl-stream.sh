#!/usr/bin/env bash
# Reads an SSE stream with curl, the way a person would look at it.
#
# Usage: tests/peers/curl-stream.sh URL COUNT [TIMEOUT_SECONDS] [CURL_ARG...]
#
# Runs `curl -sSN --fail URL` and copies the raw stream lines to stdout, line by line (a CR before the LF is kept),
# until COUNT lines starting with `data:` have been seen, then stops curl and exits 0.
# COUNT=0 means: read until the server ends the response, then exit 0.
# Exits 1 when the stream ends (or curl fails: connection refused, HTTP status >= 400) before
# COUNT data lines, or when TIMEOUT_SECONDS (default 10) pass first; 2 on a usage error.
# Extra CURL_ARGs go to curl, e.g. -H 'Last-Event-ID: 4'.
set -u

if [ $# -lt 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
    echo "usage: curl-stream.sh URL COUNT [TIMEOUT_SECONDS] [CURL_ARG...]" >&2
    exit 2
fi
url=$1
count=$2
shift 2
timeout=10
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    timeout=$1
    shift
fi
if ! command -v curl >/dev/null; then
    echo "curl-stream.sh: curl is not installed (run scripts/install-peers)" >&2
    exit 2
fi

# curl writes into a FIFO that this script reads, so curl can be stopped as soon as enough has
# been seen (with a plain pipe, curl would wait on a quiet stream until its timeout).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkfifo "$work/stream"
curl -sSN --fail --max-time "$timeout" "$@" "$url" >"$work/stream" &
curl_pid=$!
seen=0
reached=0
# bash's read takes one byte at a time from a FIFO, so each line is seen as soon as it arrives.
while IFS= read -r line || [ -n "$line" ]; do
    printf '%s\n' "$line"
    case $line in
    data:*)
        seen=$((seen + 1))
        if [ "$count" -gt 0 ] && [ "$seen" -ge "$count" ]; then
            reached=1
            break
        fi
        ;;
    esac
done <"$work/stream"
[ "$count" -eq 0 ] && reached=1
[ "$reached" -eq 1 ] || echo "curl-stream.sh: the stream ended after $seen of $count data lines" >&2
kill "$curl_pid" 2>/dev/null
wait "$curl_pid"
curl_status=$?

if [ "$reached" -ne 1 ]; then
    [ "$curl_status" -eq 28 ] && echo "curl-stream.sh: timed out after ${timeout} s" >&2
    exit 1
fi
# COUNT=0 needs the response to have ended by itself: a timeout or a failed request is a failure.
if [ "$count" -eq 0 ] && [ "$curl_status" -ne 0 ]; then
    [ "$curl_status" -eq 28 ] && echo "curl-stream.sh: timed out after ${timeout} s" >&2
    echo "curl-stream.sh: curl exited with status $curl_status" >&2
    exit 1
fi
exit 0
