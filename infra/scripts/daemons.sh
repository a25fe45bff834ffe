# Shared by the service scripts (sourced): daemons are recorded one PID per line in a file and stopped by those PIDs.

# stop_pids FILE [GRACE]: SIGTERM every recorded PID, wait up to GRACE seconds (default 5), SIGKILL what is left,
# remove FILE. GRACE 0 kills at once (a throwaway cluster whose data is deleted with it).
stop_pids() {
  local file=$1 grace=${2:-5} pid alive
  [[ -f "$file" ]] || return 0
  if [[ $grace != 0 ]]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$file"
  fi
  for _ in $(seq $((grace * 10))); do
    alive=0
    while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$file"
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$file"
  rm -f "$file"
}
