# bench/lib.sh — what the bench/ drivers share.
# Sourced, never run. Contract:
#   SRC, BUILD_DIR        the source tree and its build dir (default <source>/build)
#   die MSG               prints "<script>: MSG" on stderr and exits 1
#   calc EXPR, is_true EXPR   floating-point arithmetic and comparison (awk)
#   ratio A B             A / B as the tables print it (0.123x below 1, else 1.2x)
#   bench_binaries [cclient]  sets MBOXFS and GEN_MBOX (and CCLIENT_OPEN, empty when not
#                         built): each from the environment when set (meson's benchmark
#                         targets set both), else built in BUILD_DIR (set up with meson
#                         if missing), with bench/cclient_open when asked for and this
#                         build has it (libc-client found)
#   bench_workdir NAME BASE   creates W=$BENCH_DIR/NAME.XXXXXX (BENCH_DIR default BASE)
#   machine_facts         prints the machine and work dir lines every report starts with
#   generate FILE ARGS... runs gen_mbox ARGS -o FILE, sets BYTES and MSGS, prints them
#   measure NAME WARMUP PREPARE COMMAND  times COMMAND RUNS times (PREPARE before each,
#                         untimed; hyperfine when installed, else date +%s.%N): sets
#                         MEDIAN[NAME], MIN[NAME] (wall seconds), CPU[NAME] (mean
#                         user + system seconds, hyperfine only)
#   scale NAME FACTOR     multiplies NAME's times (a prefix's times to the whole file)
#   need_mount_tools [pt] exits 77 (a skip for meson) unless root, /dev/fuse, fusermount3
#                         and Courier's imapd are there; with pt also cc and libfuse3-dev's
#                         passthrough_ll.c (PT_SRC)
#   remove_workdir_on_exit    at exit, removes W (KEEP=1: keeps it), but never while
#                         something below W is still mounted
#   parse_quick ARGS...   QUICK=1 for --quick, 0 for no argument; else usage, exit 2
#   FRESH_FS              dir (the default) or fresh (needs root, losetup, mkfs.ext4)
#   fresh_dir NAME SIZE   sets DIR to an empty directory for one run's output. dir: a new
#                         directory $W/NAME.<n>, not deleted before the end. fresh: the
#                         root of an ext4 file system made for that run at $W/NAME (no
#                         journal, as /var/tmp here; on a loop device with direct I/O, so
#                         every sync still waits for the disk), replacing NAME's last one.
#                         Why fresh: ext4 without a journal searches long for a free inode
#                         next to many deleted in the last minutes (recently_deleted()),
#                         so a run writing where other jobs just deleted files pays for
#                         them. Not the default: the loop device slows the writes of
#                         every side (cp -r + sync of materialize_disk.sh's tree took
#                         0.60-0.71 s there against 0.40-0.48 s on /var/tmp, same load),
#                         which flatters the ratios to it.
#   fresh_off [NAME...]   unmounts and frees those file systems (all of them without NAME)

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$SRC/build}
BENCH_SCRIPT=$(basename "$0")
HYPERFINE=${HYPERFINE-$(command -v hyperfine || true)} # HYPERFINE= : time with date
PT_SRC=/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c

die() { echo "$BENCH_SCRIPT: $*" >&2; exit 1; }
calc() { awk "BEGIN { printf \"%.9g\", $* }"; } # floating-point arithmetic
is_true() { awk "BEGIN { exit !($*) }"; }
ratio() {
	local r
	r=$(calc "$1 / $2")
	if is_true "$r < 1"; then printf '%.3fx' "$r"; else printf '%.1fx' "$r"; fi
}

bench_binaries() {
	if [[ -z ${MBOXFS:-} || -z ${GEN_MBOX:-} ]]; then
		if [[ ! -f $BUILD_DIR/build.ninja ]]; then
			meson setup "$BUILD_DIR" "$SRC" >/dev/null
		fi
		local targets=(tools/mboxfs bench/gen_mbox)
		if [[ ${1:-} == cclient ]] &&
			ninja -C "$BUILD_DIR" -t targets all 2>/dev/null | grep -q '^bench/cclient_open:'; then
			targets+=(bench/cclient_open)
		fi
		ninja -C "$BUILD_DIR" "${targets[@]}" >/dev/null
		# only what was not given: MBOXFS=<another binary> alone must time that one
		MBOXFS=${MBOXFS:-$BUILD_DIR/tools/mboxfs}
		GEN_MBOX=${GEN_MBOX:-$BUILD_DIR/bench/gen_mbox}
		if [[ -z ${CCLIENT_OPEN:-} && -x $BUILD_DIR/bench/cclient_open ]]; then
			CCLIENT_OPEN=$BUILD_DIR/bench/cclient_open
		fi
	fi
	CCLIENT_OPEN=${CCLIENT_OPEN:-}
}

bench_workdir() {
	BENCH_DIR=${BENCH_DIR:-$2}
	W=$(mktemp -d "$BENCH_DIR/$1.XXXXXX")
}

machine_facts() {
	echo "   machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(uname -r)"
	echo "   work dir: $W ($(df -PT "$W" | awk 'NR==2 {print $2}'))"
}

generate() {
	local file=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	read -r BYTES MSGS < <("$GEN_MBOX" "$@" -o "$file")
	t1=$(date +%s.%N)
	printf '   generated %s bytes, %s messages in %.1f s (gen_mbox %s)\n' "$BYTES" "$MSGS" \
		"$(calc "$t1 - $t0")" "$*"
}

declare -A MEDIAN MIN CPU
measure() {
	local name=$1 warmup=$2 prepare=$3 cmd=$4
	sync
	if [[ -n $HYPERFINE ]]; then
		local csv=$W/$name.csv
		"$HYPERFINE" --style none --runs "$RUNS" --warmup "$warmup" --prepare "$prepare" \
			--export-csv "$csv" -- "$cmd" >"$W/$name.hyperfine" 2>&1 ||
			{ cat "$W/$name.hyperfine" >&2; die "$name failed"; }
		MEDIAN[$name]=$(awk -F, 'NR==2 {print $4}' "$csv")
		MIN[$name]=$(awk -F, 'NR==2 {print $7}' "$csv")
		CPU[$name]=$(awk -F, 'NR==2 {printf "%.9g", $5 + $6}' "$csv")
	else
		local i times=() a b
		for ((i = 0; i < warmup; i++)); do
			eval "$prepare" >/dev/null || die "$name: prepare failed"
			eval "$cmd" >/dev/null 2>&1
		done
		for ((i = 0; i < RUNS; i++)); do
			eval "$prepare" >/dev/null || die "$name: prepare failed"
			a=$(date +%s.%N)
			eval "$cmd" >/dev/null 2>&1 || die "$name failed"
			b=$(date +%s.%N)
			times+=("$(calc "$b - $a")")
		done
		MEDIAN[$name]=$(printf '%s\n' "${times[@]}" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
		MIN[$name]=$(printf '%s\n' "${times[@]}" | sort -g | head -n1)
	fi
}

scale() {
	MEDIAN[$1]=$(calc "${MEDIAN[$1]} * $2")
	MIN[$1]=$(calc "${MIN[$1]} * $2")
	[[ -n ${CPU[$1]:-} ]] && CPU[$1]=$(calc "${CPU[$1]} * $2")
	return 0
}

need_mount_tools() {
	local missing=()
	((EUID == 0)) || missing+=(root)
	[[ -c /dev/fuse ]] || missing+=(/dev/fuse)
	command -v fusermount3 >/dev/null || missing+=(fusermount3)
	[[ -x /usr/bin/imapd ]] || missing+=("/usr/bin/imapd (courier-imap)")
	if [[ ${1:-} == pt ]]; then
		command -v cc >/dev/null || missing+=(cc)
		[[ -f $PT_SRC ]] && pkg-config --exists fuse3 || missing+=("$PT_SRC (libfuse3-dev)")
	fi
	if ((${#missing[@]})); then
		echo "SKIP: $BENCH_SCRIPT needs ${missing[*]}"
		exit 77
	fi
}

remove_workdir() {
	if awk -v w="$W/" 'index($2, w) == 1 {f = 1} END {exit !f}' /proc/mounts; then
		echo "$BENCH_SCRIPT: something below $W is still mounted; $W left in place" >&2
		return
	fi
	if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$W"; else echo "kept $W"; fi
}

remove_workdir_on_exit() { trap remove_workdir EXIT; }

parse_quick() {
	case ${1:-} in
	--quick) QUICK=1 ;;
	"") QUICK=0 ;;
	*) echo "usage: bench/$BENCH_SCRIPT [--quick]" >&2; exit 2 ;;
	esac
}

FRESH_FS=${FRESH_FS:-dir}
[[ $FRESH_FS == dir || $FRESH_FS == fresh ]] || die "FRESH_FS=$FRESH_FS: dir or fresh"
if [[ $FRESH_FS == fresh ]] && ! { ((EUID == 0)) && command -v losetup >/dev/null &&
	command -v mkfs.ext4 >/dev/null; }; then
	die "FRESH_FS=fresh needs root, losetup and mkfs.ext4"
fi
declare -A FRESH_DEV=()
FRESH_N=0
fresh_off() {
	local names=("$@") n
	((${#names[@]})) || names=("${!FRESH_DEV[@]}")
	for n in "${names[@]}"; do
		[[ -n ${FRESH_DEV[$n]:-} ]] || continue
		umount "$W/$n" && losetup -d "${FRESH_DEV[$n]}" && rm -f "$W/$n.img"
		unset "FRESH_DEV[$n]"
	done
}
fresh_dir() {
	local name=$1 size=$2
	if [[ $FRESH_FS == fresh ]]; then
		fresh_off "$name"
		mkdir -p "$W/$name"
		truncate -s "$size" "$W/$name.img"
		mkfs.ext4 -q -F -O ^has_journal -E lazy_itable_init=0 "$W/$name.img"
		FRESH_DEV[$name]=$(losetup --direct-io=on --find --show "$W/$name.img")
		mount "${FRESH_DEV[$name]}" "$W/$name"
		DIR=$W/$name
	else
		FRESH_N=$((FRESH_N + 1))
		DIR=$W/$name.$FRESH_N
		mkdir -p "$DIR"
	fi
}
