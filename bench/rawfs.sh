#!/usr/bin/env bash
# bench/rawfs.sh — the raw file system rows alone: `find cur -type f -exec cat {} +`
# and `cat` of one big message, warm, on an mboxfs mount, on the same maildir
# materialized to a plain directory and on libfuse's passthrough_ll over a copy of it,
# alternating, with the FUSE requests per message (see courier.sh, which this runs with
# WRITES=0: the imapd read rows come along, the write rows are left out).
#
#   bench/rawfs.sh [--quick]      (environment as for courier.sh)
WRITES=0 exec "$(dirname "$0")/courier.sh" "$@"
