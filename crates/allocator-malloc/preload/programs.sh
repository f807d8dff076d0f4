#!/usr/bin/env bash
# The C contract (tests/c/contract.c) through each library, then real
# programs: each workload runs once on
# glibc's malloc and once with LD_PRELOAD of the library built for each
# heap; its output must be the same. Prints each run's time and peak RSS
# and their ratios to glibc's. A heap that does not finish within 10x
# glibc's time (plus 5 s) is stopped and reported as too slow; a different
# output or a failed run fails the job.
#
# Usage: programs.sh [heap...]   (default: tlsf hosted hosted-os buddy)
# Needs: sqlite3 python3 perl git xz zstd gcc, GNU time (/usr/bin/time).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
HEAPS=${*:-tlsf hosted hosted-os buddy}
W=$(mktemp -d "${TMPDIR:-/tmp}/preload-programs.XXXXXX")
trap 'rm -rf "$W"' EXIT

need() { command -v "$1" >/dev/null || { echo "missing program: $1"; exit 2; }; }
for p in sqlite3 python3 perl git xz zstd gcc; do need $p; done
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (package time)"; exit 2; }
PY=$(command -v /usr/bin/python3 || command -v python3)

# --- the libraries --------------------------------------------------------
for h in $HEAPS; do
    cargo build --quiet --release --locked -p allocator-malloc-preload --no-default-features --features "$h" ||
        { echo "build for $h failed"; exit 1; }
    cp "$TARGET/release/liballocator_malloc_preload.so" "$W/lib-$h.so"
done

# --- the C contract, from C, on each library ---------------------------------
# (tests/c/contract.c: threads, fork, every function's C rules; the test
# step runs it for the default heap through `cargo test`.)
cc -O1 -Wall -Werror -pthread -o "$W/contract" "$HERE/tests/c/contract.c" || { echo "contract.c does not build"; exit 1; }
for h in $HEAPS; do
    if out=$(LD_PRELOAD="$W/lib-$h.so" timeout 120 "$W/contract" 2>&1) && [[ $out == *"all passed"* ]]; then
        echo "C contract through LD_PRELOAD ($h): all passed"
    else
        echo "C contract through LD_PRELOAD ($h) FAILED:"; echo "$out"; exit 1
    fi
done
echo "C contract through LD_PRELOAD: all passed on every library"

# --- the workloads' inputs --------------------------------------------------
cat >"$W/work.sql" <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v INTEGER);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 150000)
INSERT INTO t SELECT i, printf('key-%d-%x', i % 5000, i * 2654435761 % 4294967296), (i * 7919) % 100003 FROM c;
CREATE INDEX tk ON t(k);
SELECT count(*), sum(v), count(DISTINCT k) FROM t;
SELECT k, count(*), max(v) FROM t GROUP BY k ORDER BY 3 DESC, 1 LIMIT 5;
UPDATE t SET k = k || '-x' WHERE v % 3 = 0;
DELETE FROM t WHERE v % 5 = 0;
SELECT count(*), sum(length(k)) FROM t;
SELECT group_concat(id) FROM (SELECT id FROM t ORDER BY k DESC LIMIT 20);
SQL
cat >"$W/work.py" <<'PY'
import hashlib, json
d = {}
for i in range(100000):
    d["k%d" % i] = {"id": i, "name": "item-%d" % (i * 31 % 99991), "tags": [i % 7, i % 11, str(i)]}
s = json.dumps(d, sort_keys=True)
e = json.loads(s)
assert e == d
words = {}
for v in e.values():
    words[v["name"]] = words.get(v["name"], 0) + 1
print(len(s), len(words), hashlib.sha256(s.encode()).hexdigest())
PY
cat >"$W/work.pl" <<'PL'
use strict; use warnings; use Digest::MD5 qw(md5_hex);
my %h;
for my $i (1 .. 100000) { $h{"key$i"} = join(",", $i, $i * 3 % 1009, "v" x ($i % 17)); }
my @k = sort { $h{$a} cmp $h{$b} } keys %h;
my $s = join(";", map { "$_=$h{$_}" } @k[0 .. 999]);
my %c; $c{length $h{$_}}++ for keys %h;
print scalar(@k), " ", md5_hex($s), " ", join(",", map { "$_:$c{$_}" } sort { $a <=> $b } keys %c), "\n";
PL
"$PY" - "$W/big.c" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("#include <string.h>\n")
    for i in range(120):
        f.write(f"""
struct s{i} {{ int a[{i % 13 + 1}]; double d; char name[{i % 29 + 3}]; }};
static int helper{i}(struct s{i} *p, int n) {{
    int acc = {i};
    for (int j = 0; j < n; j++) {{ acc += p->a[j % {i % 13 + 1}] * (j ^ {i}); if (acc > 100000) acc -= p->name[j % 3]; }}
    switch (n % 5) {{ case 0: acc *= 3; break; case 1: acc ^= {i}; break; case 2: acc += (int)p->d; break; default: acc--; }}
    return acc;
}}
int f{i}(int n) {{ struct s{i} v; memset(&v, n, sizeof v); v.d = n * 1.5; return helper{i}(&v, n) + (n > 1 ? helper{i}(&v, n - 1) : 0); }}
""")
PY
"$PY" - "$W/data" <<'PY'
import random, sys
r = random.Random(19)
words = ["alloc", "free", "slab", "magazine", "depot", "tlsf", "buddy", "arena", "page", "heap"]
with open(sys.argv[1], "w") as f:
    for i in range(120000):
        f.write(" ".join(r.choice(words) for _ in range(6)) + f" {i} {r.random():.6f}\n")
PY
# The repository git reads (this one, unless PROGRAMS_GIT names another),
# at a fixed commit so that every run sees the same history.
REPO=${PROGRAMS_GIT:-$ROOT}
REV=$(git -C "$REPO" rev-parse HEAD) || exit 2

# name | command (run by bash -c, with $W, $REPO, $REV and $PY exported)
export W REPO REV PY
WORKLOADS=(
    "sqlite3|sqlite3 :memory: < \$W/work.sql"
    "python3|\$PY \$W/work.py"
    "python3 PYTHONMALLOC=malloc|PYTHONMALLOC=malloc \$PY \$W/work.py"
    "perl|perl \$W/work.pl"
    "gcc -O2|gcc -O2 -c \$W/big.c -o \$W/big-\$\$.o && sha256sum < \$W/big-\$\$.o"
    "git|git -C \$REPO --no-pager log -p --stat \$REV | sha256sum && git -C \$REPO --no-pager grep -c unsafe \$REV | sha256sum"
    "xz -T2|xz -T2 -3 --block-size=1MiB -c \$W/data > \$W/x-\$\$ && sha256sum < \$W/x-\$\$ && xz -d -T2 -c \$W/x-\$\$ | sha256sum"
    "zstd -T2|zstd -q -T2 -12 -B1048576 -c \$W/data > \$W/z-\$\$ && sha256sum < \$W/z-\$\$ && zstd -q -d -c \$W/z-\$\$ | sha256sum"
)

# run NAME LIB CMD LIMIT: prints "status seconds kib" and leaves the output in $W/out
run() {
    local lib=$2 cmd=$3 limit=$4
    local env=()
    [ -n "$lib" ] && env=(LD_PRELOAD="$lib")
    rm -f "$W/time"
    timeout "$limit" /usr/bin/time -f "%e %M" -o "$W/time" env "${env[@]}" bash -c "$cmd" >"$W/out" 2>"$W/err"
    local rc=$?
    local t="- -"
    [ -s "$W/time" ] && t=$(tail -n 1 "$W/time")
    echo "$rc $t"
}

# The same rows as a table for the workbench's report.
TSV_DIR=$ROOT/target/programs
mkdir -p "$TSV_DIR"
TSV=$TSV_DIR/programs.tsv
printf 'program\theap\tseconds\tpeak KiB\ttime vs glibc\tpeak vs glibc\tresult\n' >"$TSV"
row() { local IFS=$'\t'; echo "$*" >>"$TSV"; }

failed=0
printf '%-28s %-9s %9s %9s %7s %7s  %s\n' program heap seconds "peak KiB" time× rss× output
for w in "${WORKLOADS[@]}"; do
    name=${w%%|*} cmd=${w#*|}
    read -r rc t0 m0 < <(run "$name" "" "$cmd" 300)
    if [ "$rc" != 0 ]; then
        echo "$name fails on glibc ($rc):"; cat "$W/err"; failed=1; continue
    fi
    cp "$W/out" "$W/expected"
    printf '%-28s %-9s %9s %9s %7s %7s  %s\n' "$name" glibc "$t0" "$m0" 1.00 1.00 "$(head -c 40 "$W/out" | tr '\n' ' ')"
    row "$name" glibc "$t0" "$m0" 1.00 1.00 reference
    limit=$(awk -v t="$t0" 'BEGIN { printf "%d", 10 * t + 5 }')
    for h in $HEAPS; do
        read -r rc t m < <(run "$name" "$W/lib-$h.so" "$cmd" "$limit")
        if [ "$rc" = 124 ]; then
            printf '%-28s %-9s %9s %9s %7s %7s  %s\n' "$name" "$h" ">$limit" - ">10" - "too slow: stopped after 10x glibc's time + 5 s"
            row "$name" "$h" ">$limit" - ">10" - "too slow"
            continue
        fi
        verdict=same
        if [ "$rc" != 0 ]; then
            verdict="FAILED (exit $rc): $(head -c 200 "$W/err" | tr '\n' ' ')"; failed=1
        elif ! cmp -s "$W/out" "$W/expected"; then
            verdict="DIFFERENT OUTPUT"; failed=1
        fi
        tr=$(awk -v a="$t" -v b="$t0" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 1) }')
        mr=$(awk -v a="$m" -v b="$m0" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 1) }')
        printf '%-28s %-9s %9s %9s %7s %7s  %s\n' "$name" "$h" "$t" "$m" "$tr" "$mr" "$verdict"
        row "$name" "$h" "$t" "$m" "$tr" "$mr" "$verdict"
    done
done
echo "written: $TSV"
if [ "$failed" = 0 ]; then echo "every program gave glibc's output"; else echo "some programs failed"; fi
exit "$failed"
