#!/bin/bash
# A trial program for the fault tests (FaultAgentTests, ncfTests/Reliability*): prints JSON Lines
# like `ncf train --json`, in milliseconds unless told to sleep.
#
# Flags (`--name=value`, as the sweep's `${args}` renders them; others are ignored):
#   --x=N        the metric is Valid Loss = x + 1/epoch (smaller x is better)
#   --epochs=N   epochs to log (default 3)
#   --sleep=S    seconds to sleep before each epoch (default 0)
#   --mode=M     ok (default) | fail: "Error: boom" on stderr, exit 3 | nan: logs x+0.5, x+1,
#                then NaN at epoch 3 and waits to be stopped | inf: logs Infinity at epoch 1 and
#                waits | crash: kills itself with SIGKILL | segv: kills itself with SIGSEGV |
#                hang: sleeps 30 s before its first epoch | stubborn: ignores SIGINT and SIGTERM
#                and sleeps 30 s
# SIGINT/SIGTERM make it finish the current epoch, print its summary and exit 130 (SIGINT) or
# 143 (SIGTERM), as `ncf train` does. Each start appends "x" to $FAULT_TRIAL_LOG when set.
x=0; epochs=3; sleep_s=0; mode=ok
for a in "$@"; do
  case "$a" in
    --x=*) x="${a#*=}";;
    --epochs=*) epochs="${a#*=}";;
    --sleep=*) sleep_s="${a#*=}";;
    --mode=*) mode="${a#*=}";;
  esac
done
[ -n "$FAULT_TRIAL_LOG" ] && echo "$x" >> "$FAULT_TRIAL_LOG"
stop=0
trap 'stop=130' INT
trap 'stop=143' TERM
wait_for_stop() { for ((i = 0; i < 600 && stop == 0; i++)); do sleep 0.05; done; }
case "$mode" in
  fail) echo "starting" >&2; echo "Error: boom (x=$x)" >&2; exit 3;;
  crash) kill -9 $$;;
  segv) kill -SEGV $$;;
  hang) sleep 30;;
  stubborn) trap '' INT TERM; sleep 30;;
  inf) echo "{\"epoch\": 1, \"Train Loss\": Infinity, \"Valid Loss\": 1}"; wait_for_stop; exit 0;;
esac
for ((e = 1; e <= epochs; e++)); do
  if [ "$sleep_s" != "0" ]; then sleep "$sleep_s"; fi
  if [ "$mode" = "nan" ]; then
    if [ "$e" = "3" ]; then
      echo "{\"epoch\": 3, \"Train Loss\": NaN, \"Valid Loss\": NaN}"
      wait_for_stop
      exit 0
    fi
    loss=$(awk -v x="$x" -v e="$e" 'BEGIN { printf "%.6f", x + e / 2 }')
  else
    loss=$(awk -v x="$x" -v e="$e" 'BEGIN { printf "%.6f", x + 1 / e }')
  fi
  echo "{\"epoch\": $e, \"Train Loss\": $loss, \"Valid Loss\": $loss}"
  if [ "$stop" != "0" ]; then break; fi
done
echo "{\"summary\": {\"Test RMSE\": $x, \"protocol\": \"fault\"}}"
exit $stop
