#!/usr/bin/env bash
# The server demo that `make demo` runs: encored on RocksDB under ./var/demo,
# a concert and a schedule made with encore-cli, a short flash sale of fans
# racing through encore-cli in parallel (charge, queue, wait for their turn,
# hold a seat, pay; some let their hold go), the seat map, a check that what
# was sold is what was paid, and a clean stop.
#   usage: tools/demo-server.sh <build dir>   (ENCORE_DEMO_PORT changes 7400)
set -euo pipefail
build=${1:-build}
port=${ENCORE_DEMO_PORT:-7400}
admin_port=$((port + 1))
data=./var/demo
cli() { "$build/tools/encore-cli" --port "$port" "$@"; }
admin() { "$build/tools/encore-cli" --admin --port "$admin_port" "$@"; }
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p"; }

rm -rf "$data" && mkdir -p "$data"
work=$(mktemp -d)
"$build/tools/encored" --data-dir "$data/db" --listen "127.0.0.1:$port" \
  --admin-listen "127.0.0.1:$admin_port" > "$work/encored.log" 2>&1 &
server=$!
stop_server() {
  if kill -0 "$server" 2>/dev/null; then
    kill -INT "$server"
    wait "$server" || true
  fi
  rm -rf "$work"
}
trap stop_server EXIT
for _ in $(seq 1 100); do
  grep -q "listening" "$work/encored.log" && break
  sleep 0.05
done
echo "== $(head -1 "$work/encored.log")"

admin create-concert 1 "Encore Live 2026"
admin create-schedule 1 10 --seats 60 --tiers 0:15000,30:8000 --per-user 2 --active-max 12 \
  --hold-ttl-ms 20000

fans=80
echo "== $fans fans race for 60 seats (12 shopping at a time)"
fan() {
  local user=$1 token state hold seat
  cli charge "$user" 20000 > /dev/null
  token=$(cli --json enter 10 "$user" | json_field token)
  for _ in $(seq 1 200); do  # Poll (a heartbeat) until admitted; bounded.
    state=$(cli --json status 10 "$user" "$token" | json_field queue_state)
    [ "$state" = "ACTIVE" ] && break
    [ "$state" = "WAITING" ] || return 0
    sleep 0.05
  done
  [ "$state" = "ACTIVE" ] || return 0
  for _ in 1 2 3 4 5; do  # Try a few seats: others may be faster.
    seat=$(( (user * 7 + RANDOM) % 60 ))
    hold=$(cli --json hold 10 "$user" "$token" "$seat" | json_field hold) || true
    [ -n "$hold" ] && break
  done
  if [ -z "$hold" ]; then cli leave 10 "$user" "$token" > /dev/null || true; return 0; fi
  if [ $((user % 7)) -eq 0 ]; then  # Changes their mind.
    cli release 10 "$user" "$hold" "$token" > /dev/null && echo "released" >> "$work/outcomes"
    cli leave 10 "$user" "$token" > /dev/null || true
    return 0
  fi
  cli pay 10 "$user" "$token" "$hold" > /dev/null && echo "paid $user" >> "$work/outcomes"
}
for user in $(seq 1 $fans); do fan "$user" & done
wait $(jobs -p | grep -v "^$server$") 2>/dev/null || true

echo "== the seat map (admin view): . available, h held, X sold"
admin seatmap 10 0 00000000000000000000000000000000
cli schedules 1
paid=$(grep -c "^paid" "$work/outcomes" || true)
sold=$(cli --json schedules 1 | json_field seats_sold)
echo "== $paid fans paid for one seat each; the server says $sold seats sold"
if [ "$paid" != "$sold" ]; then echo "MISMATCH: a seat was sold twice or a payment lost"; exit 1; fi
echo "== no seat sold twice, every payment is a sold seat"
