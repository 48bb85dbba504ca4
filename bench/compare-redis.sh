#!/usr/bin/env bash
# Encore against Redis on the same machine, in the same run, doing the jobs a
# Redis-based ticketing service does:
#   seat hold   Redis: SET seat:N user NX PX 300000 (redis-benchmark -P 32)
#               Encore: HOLD_SEATS and RELEASE_HOLD cycles (encore-load --mix holds)
#   payment     Redis: one Lua script (EVALSHA) that checks the hold and debits the balance
#               Encore: PAY in encore-load's mixed workload (hold, pay, release, charge, status)
#   queue       Redis: ZADD / ZRANK (for context; Encore's queue has no one-op workload)
#   purchase    a whole purchase, like for like: Redis INCRBY (charge) + ZADD (enter) +
#               SET NX PX (hold) + the Lua payment, one after the other (its rate is
#               1 / the sum of the four ops' times); Encore: CHARGE, ENTER_QUEUE, HOLD_SEATS,
#               PAY per user (encore-load --mix pays)
# Redis without persistence and with AOF (appendfsync everysec); Encore with
# durability async and sync. Prints every figure and the ratios.
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

redis_run() {  # $1: mode (none|aof)
  local args=(--port "$redis_port" --save "" --daemonize yes --dir "$work" --logfile "$work/redis.log")
  if [ "$1" = aof ]; then args+=(--appendonly yes --appendfsync everysec); else args+=(--appendonly no); fi
  redis-server "${args[@]}"
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping > /dev/null 2>&1 && break; sleep 0.1; done
  local sha
  sha=$(redis-cli -p "$redis_port" SCRIPT LOAD "local h=redis.call('GET',KEYS[1]) if h and h~=ARGV[1] then return 0 end local b=tonumber(redis.call('GET',KEYS[2]) or '1000000') if b<tonumber(ARGV[2]) then return -1 end redis.call('SET',KEYS[2],b-tonumber(ARGV[2])) redis.call('SET',KEYS[1],'sold') return 1")
  local bench=(redis-benchmark -p "$redis_port" -P 32 -c 50 -r 1000000 -q)
  redis_hold[$1]=$("${bench[@]}" -n 2000000 SET seat:__rand_int__ u NX PX 300000 2>/dev/null | tr '\r' '\n' | rps)
  redis_pay[$1]=$("${bench[@]}" -n 1000000 EVALSHA "$sha" 2 seat:__rand_int__ bal:__rand_int__ u 100 2>/dev/null | tr '\r' '\n' | rps)
  redis_incr[$1]=$("${bench[@]}" -n 1000000 INCRBY bal:__rand_int__ 100 2>/dev/null | tr '\r' '\n' | rps)
  redis_zadd[$1]=$("${bench[@]}" -n 1000000 ZADD queue __rand_int__ user:__rand_int__ 2>/dev/null | tr '\r' '\n' | rps)
  redis_zrank[$1]=$("${bench[@]}" -n 1000000 ZRANK queue user:__rand_int__ 2>/dev/null | tr '\r' '\n' | rps)
  redis-cli -p "$redis_port" shutdown nosave > /dev/null 2>&1 || true
  sleep 0.5
}

json_op() {  # $1: file, $2: op -> per_s
  sed -n "s/.*\"$2\":{[^}]*\"per_s\":\([0-9.]*\).*/\1/p" "$1"
}

encore_run() {  # $1: durability
  local data="$work/encore-$1"
  "$build/tools/encored" --data-dir "$data" --durability "$1" --listen "127.0.0.1:$encore_port" \
    --admin-listen "127.0.0.1:$((encore_port + 1))" --metrics-listen off > "$work/encored-$1.log" 2>&1 &
  for _ in $(seq 1 100); do grep -q listening "$work/encored-$1.log" && break; sleep 0.05; done
  local load=("$build/tools/encore-load" throughput --port "$encore_port" --admin-port $((encore_port + 1))
              --connections 4 --depth 256 --duration-s "$seconds" --quiet)
  "${load[@]}" --mix holds --json "$work/holds-$1.json" > "$work/holds-$1.txt" 2>&1
  "${load[@]}" --mix mixed --json "$work/mixed-$1.json" > "$work/mixed-$1.txt" 2>&1
  "${load[@]}" --mix pays --seats 1000000 --json "$work/pays-$1.json" > "$work/pays-$1.txt" 2>&1
  encore_purchase[$1]=$(json_op "$work/pays-$1.json" pay)
  encore_hold[$1]=$(json_op "$work/holds-$1.json" hold)
  encore_seat_ops[$1]=$(sed -n 's/.*"total":{[^}]*"per_s":\([0-9.]*\).*/\1/p' "$work/holds-$1.json")
  encore_pay[$1]=$(json_op "$work/mixed-$1.json" pay)
  encore_total[$1]=$(sed -n 's/.*"total":{[^}]*"per_s":\([0-9.]*\).*/\1/p' "$work/mixed-$1.json")
  pkill -INT -f "encored --data-dir $data" || true
  wait 2> /dev/null || true
}

declare -A redis_hold redis_pay redis_incr redis_zadd redis_zrank encore_hold encore_seat_ops encore_pay \
  encore_total encore_purchase
echo "== Redis $(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p'), redis-benchmark -P 32 -c 50"
redis_run none
redis_run aof
echo "== Encore, encore-load throughput, 4 connections x 256 in flight, ${seconds}s per run"
encore_run async
encore_run sync

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
printf '\n%-44s %14s %14s\n' "" "no persistence" "AOF / sync"
printf '%-44s %14.0f %14.0f\n' "Redis SET NX PX (hold), ops/s" "${redis_hold[none]}" "${redis_hold[aof]}"
printf '%-44s %14.0f %14.0f\n' "Redis Lua payment, ops/s" "${redis_pay[none]}" "${redis_pay[aof]}"
printf '%-44s %14.0f %14.0f\n' "Redis INCRBY (charge), ops/s" "${redis_incr[none]}" "${redis_incr[aof]}"
printf '%-44s %14.0f %14.0f\n' "Redis ZADD (enter queue), ops/s" "${redis_zadd[none]}" "${redis_zadd[aof]}"
printf '%-44s %14.0f %14.0f\n' "Redis ZRANK (position), ops/s" "${redis_zrank[none]}" "${redis_zrank[aof]}"
printf '%-44s %14s %14s\n' "" "async" "sync"
printf '%-44s %14.0f %14.0f\n' "Encore holds, ops/s (--mix holds)" "${encore_hold[async]}" "${encore_hold[sync]}"
printf '%-44s %14.0f %14.0f\n' "Encore holds + releases, ops/s" "${encore_seat_ops[async]}" "${encore_seat_ops[sync]}"
printf '%-44s %14.0f %14.0f\n' "Encore payments, ops/s (in the mixed run)" "${encore_pay[async]}" "${encore_pay[sync]}"
printf '%-44s %14.0f %14.0f\n' "Encore mixed run, all ops/s" "${encore_total[async]}" "${encore_total[sync]}"
# A Redis purchase: the four ops back to back.
purchase() { awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN { if (a > 0 && b > 0 && c > 0 && d > 0) printf "%.0f", 1 / (1/a + 1/b + 1/c + 1/d); else print 0 }'; }
redis_purchase_none=$(purchase "${redis_incr[none]}" "${redis_zadd[none]}" "${redis_hold[none]}" "${redis_pay[none]}")
redis_purchase_aof=$(purchase "${redis_incr[aof]}" "${redis_zadd[aof]}" "${redis_hold[aof]}" "${redis_pay[aof]}")
printf '%-44s %14.0f %14.0f\n' "Redis purchases/s (INCRBY+ZADD+SET+Lua)" "$redis_purchase_none" "$redis_purchase_aof"
printf '%-44s %14.0f %14.0f\n' "Encore purchases/s (--mix pays)" "${encore_purchase[async]}" "${encore_purchase[sync]}"
echo
echo "hold ratio, Encore async / Redis no persistence:  $(ratio "${encore_hold[async]}" "${redis_hold[none]}") (target >= 2x)"
echo "hold ratio, Encore sync / Redis AOF everysec:     $(ratio "${encore_hold[sync]}" "${redis_hold[aof]}")"
echo "payment ratio, Encore async / Redis Lua:          $(ratio "${encore_pay[async]}" "${redis_pay[none]}") (target >= 4x)"
echo "purchase ratio, Encore async / Redis:            $(ratio "${encore_purchase[async]}" "$redis_purchase_none") (like for like; sync / AOF: $(ratio "${encore_purchase[sync]}" "$redis_purchase_aof"))"
echo "(Encore's payments are one op in five of a mixed run that also holds, releases, charges and polls;"
echo " every Encore run ends with encore-load's state check: see $work/*.txt while it runs)"
