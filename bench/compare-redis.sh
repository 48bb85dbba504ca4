#!/usr/bin/env bash
# Encore against Redis on the same machine, in the same run, doing the jobs a
# Redis-based ticketing service does, each side timed on the same operation:
#   seat hold   Redis: SET seat:N u NX PX 300000 (redis-benchmark -P 32 -c 50, random seats)
#               Encore: HOLD_SEATS of one seat, nothing else (encore-load --mix hold-only)
#   payment     Redis: one Lua script (EVALSHA) that checks the hold and debits the balance
#               Encore: PAY of a seat held during an untimed setup (encore-load --mix pay-only)
#   purchase    a whole purchase: Redis INCRBY (charge) + ZADD (enter) + SET NX PX (hold) +
#               the Lua payment, its rate 1 / (the sum of the four ops' times); Encore:
#               CHARGE, ENTER_QUEUE, HOLD_SEATS, PAY per user (encore-load --mix pays)
#   context     Encore's HOLD/RELEASE cycles (--mix holds) and its mixed run (--mix mixed)
# Each side in three durability modes, paired by what an acknowledged write survives:
#   memory only              Redis without persistence    Encore --durability none
#   a process crash          Redis AOF, appendfsync everysec   Encore --durability async
#                            (written to the OS before the reply, fsynced once a second)
#   a power loss             Redis AOF, appendfsync always     Encore --durability sync
#                            (fsynced before the reply)
# Both sides keep 1,600 requests in flight: redis-benchmark 50 connections x 32 pipelined,
# encore-load 4 connections x 400 (fewer, deeper connections: each costs the tool and the
# server per read and write, and 4 x 400 measured above 8 x 200 and 16 x 100).
# Each Encore run has a fresh encored and data directory, and ends with encore-load's check of
# the server's state; the directory is then deleted (as Redis's AOF is before each of its
# modes), and each server starts after a `sync`, so no run's fsyncs wait on an earlier run's
# writeback.
#   usage: bench/compare-redis.sh <build dir> [seconds per Encore run (default 10)]
set -euo pipefail
build=${1:-build}
seconds=${2:-10}
redis_port=16379
encore_port=18400
work=$(mktemp -d)
cleanup() {
  redis-cli -p "$redis_port" shutdown nosave > /dev/null 2>&1 || true
  pkill -INT -f "encored --data-dir $work" 2> /dev/null || true
  sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT

rps() { sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1; }

redis_run() {  # $1: none | everysec | always
  local args=(--port "$redis_port" --save "" --daemonize yes --dir "$work" --logfile "$work/redis.log")
  if [ "$1" = none ]; then args+=(--appendonly no); else args+=(--appendonly yes --appendfsync "$1"); fi
  rm -rf "$work/appendonlydir"
  sync  # Each side starts on a quiet disk: no earlier run's writeback under its fsyncs.
  redis-server "${args[@]}"
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping > /dev/null 2>&1 && break; sleep 0.1; done
  local sha
  sha=$(redis-cli -p "$redis_port" SCRIPT LOAD "local h=redis.call('GET',KEYS[1]) if h and h~=ARGV[1] then return 0 end local b=tonumber(redis.call('GET',KEYS[2]) or '1000000') if b<tonumber(ARGV[2]) then return -1 end redis.call('SET',KEYS[2],b-tonumber(ARGV[2])) redis.call('SET',KEYS[1],'sold') return 1")
  local bench=(redis-benchmark -p "$redis_port" -P 32 -c 50 -r 1000000 -q)
  redis_hold[$1]=$("${bench[@]}" -n 2000000 SET seat:__rand_int__ u NX PX 300000 2>/dev/null | tr '\r' '\n' | rps)
  redis_pay[$1]=$("${bench[@]}" -n 1000000 EVALSHA "$sha" 2 seat:__rand_int__ bal:__rand_int__ u 100 2>/dev/null | tr '\r' '\n' | rps)
  redis_incr[$1]=$("${bench[@]}" -n 1000000 INCRBY bal:__rand_int__ 100 2>/dev/null | tr '\r' '\n' | rps)
  redis_zadd[$1]=$("${bench[@]}" -n 1000000 ZADD queue __rand_int__ user:__rand_int__ 2>/dev/null | tr '\r' '\n' | rps)
  redis-cli -p "$redis_port" shutdown nosave > /dev/null 2>&1 || true
  sleep 0.5
}

json_op() {  # $1: file, $2: op -> per_s
  sed -n "s/.*\"$2\":{[^}]*\"per_s\":\([0-9.]*\).*/\1/p" "$1"
}
json_total() {  # $1: file -> per_s of all operations
  sed -n 's/.*"total":{[^}]*"per_s":\([0-9.]*\).*/\1/p' "$1"
}

encore_start() {  # $1: durability, $2: run name; a fresh server and data dir per run
  local data="$work/encore-$1-$2"
  sync
  "$build/tools/encored" --data-dir "$data" --durability "$1" --listen "127.0.0.1:$encore_port" \
    --admin-listen "127.0.0.1:$((encore_port + 1))" --metrics-listen off > "$work/encored-$1-$2.log" 2>&1 &
  encored_pid=$!
  for _ in $(seq 1 100); do grep -q listening "$work/encored-$1-$2.log" && break; sleep 0.05; done
}

encore_run() {  # $1: durability
  local load=("$build/tools/encore-load" throughput --port "$encore_port" --admin-port $((encore_port + 1))
              --connections 4 --depth 400 --quiet)
  local run
  for run in hold-only pay-only pays holds mixed; do
    local extra=(--duration-s "$seconds")
    [ "$run" = pays ] && extra+=(--seats 1000000)
    # 4M payments: a timed phase of about 4 s at 1M payments/s (2M gave 2 s, where one
    # snapshot's tail from the untimed setup weighed on the whole window).
    [ "$run" = pay-only ] && extra+=(--count 4000000)
    encore_start "$1" "$run"
    if ! "${load[@]}" --mix "$run" "${extra[@]}" --json "$work/$run-$1.json" > "$work/$run-$1.txt" 2>&1; then
      echo "encore-load --mix $run against durability $1 failed:" >&2
      cat "$work/$run-$1.txt" >&2
      exit 1
    fi
    kill -INT "$encored_pid"
    wait "$encored_pid" 2> /dev/null || true
    # Checked and done with: dropped like Redis's AOF, so its writeback does not
    # run under the next run's fsyncs.
    rm -rf "$work/encore-$1-$run"
  done
  encore_hold[$1]=$(json_op "$work/hold-only-$1.json" hold)
  encore_pay[$1]=$(json_op "$work/pay-only-$1.json" pay)
  encore_purchase[$1]=$(json_op "$work/pays-$1.json" pay)
  encore_cycle[$1]=$(json_total "$work/holds-$1.json")
  encore_mixed[$1]=$(json_total "$work/mixed-$1.json")
}

declare -A redis_hold redis_pay redis_incr redis_zadd encore_hold encore_pay encore_purchase \
  encore_cycle encore_mixed
echo "== Redis $(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p'), redis-benchmark -P 32 -c 50 -r 1000000"
for mode in none everysec always; do redis_run "$mode"; done
echo "== Encore, encore-load throughput, 4 connections x 400 in flight, ${seconds}s per run"
for mode in none async sync; do encore_run "$mode"; done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
purchase() { awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN { if (a > 0 && b > 0 && c > 0 && d > 0) printf "%.0f", 1 / (1/a + 1/b + 1/c + 1/d); else print 0 }'; }
declare -A redis_purchase
for mode in none everysec always; do
  redis_purchase[$mode]=$(purchase "${redis_incr[$mode]}" "${redis_zadd[$mode]}" "${redis_hold[$mode]}" "${redis_pay[$mode]}")
done

row() { printf '%-46s %14.0f %14.0f %14.0f\n' "$1" "$2" "$3" "$4"; }
printf '\n%-46s %14s %14s %14s\n' "ops/s" "memory only" "process crash" "power loss"
printf '%-46s %14s %14s %14s\n' "Redis persistence" "none" "AOF everysec" "AOF always"
row "Redis SET NX PX (hold)" "${redis_hold[none]}" "${redis_hold[everysec]}" "${redis_hold[always]}"
row "Redis Lua payment" "${redis_pay[none]}" "${redis_pay[everysec]}" "${redis_pay[always]}"
row "Redis INCRBY (charge)" "${redis_incr[none]}" "${redis_incr[everysec]}" "${redis_incr[always]}"
row "Redis ZADD (enter queue)" "${redis_zadd[none]}" "${redis_zadd[everysec]}" "${redis_zadd[always]}"
row "Redis purchases/s (INCRBY+ZADD+SET+Lua)" "${redis_purchase[none]}" "${redis_purchase[everysec]}" "${redis_purchase[always]}"
printf '%-46s %14s %14s %14s\n' "Encore durability" "none" "async" "sync"
row "Encore HOLD_SEATS (--mix hold-only)" "${encore_hold[none]}" "${encore_hold[async]}" "${encore_hold[sync]}"
row "Encore PAY (--mix pay-only)" "${encore_pay[none]}" "${encore_pay[async]}" "${encore_pay[sync]}"
row "Encore purchases/s (--mix pays)" "${encore_purchase[none]}" "${encore_purchase[async]}" "${encore_purchase[sync]}"
row "Encore HOLD+RELEASE cycles, all ops (holds)" "${encore_cycle[none]}" "${encore_cycle[async]}" "${encore_cycle[sync]}"
row "Encore mixed run, all ops (mixed)" "${encore_mixed[none]}" "${encore_mixed[async]}" "${encore_mixed[sync]}"
echo
printf '%-46s %14s %14s %14s\n' "Encore / Redis, same guarantee" "none/none" "async/everysec" "sync/always"
printf '%-46s %14s %14s %14s\n' "holds (target >= 2x)" "$(ratio "${encore_hold[none]}" "${redis_hold[none]}")" \
  "$(ratio "${encore_hold[async]}" "${redis_hold[everysec]}")" "$(ratio "${encore_hold[sync]}" "${redis_hold[always]}")"
printf '%-46s %14s %14s %14s\n' "payments (target >= 4x)" "$(ratio "${encore_pay[none]}" "${redis_pay[none]}")" \
  "$(ratio "${encore_pay[async]}" "${redis_pay[everysec]}")" "$(ratio "${encore_pay[sync]}" "${redis_pay[always]}")"
printf '%-46s %14s %14s %14s\n' "purchases" "$(ratio "${encore_purchase[none]}" "${redis_purchase[none]}")" \
  "$(ratio "${encore_purchase[async]}" "${redis_purchase[everysec]}")" "$(ratio "${encore_purchase[sync]}" "${redis_purchase[always]}")"
echo "Encore durable against Redis in memory (async / none):  holds $(ratio "${encore_hold[async]}" "${redis_hold[none]}"), payments $(ratio "${encore_pay[async]}" "${redis_pay[none]}")"
