#!/usr/bin/env bash
# Run the listening DAGs through Airflow, in asset order, in-process (`airflow dags test`):
# listening_ingest -> listening_enrich -> listening_marts, then listening_weekly_digest for the newest
# week of data (archived under digests/; sent only where delivery is configured). Uses SQLite under
# $AIRFLOW_HOME; needs no server, scheduler or network. Fails on the first DAG run that does not succeed.
set -euo pipefail
: "${AIRFLOW_HOME:?set AIRFLOW_HOME}" "${LISTENING_CONFIG:?set LISTENING_CONFIG}"
mkdir -p "$AIRFLOW_HOME"
log="$AIRFLOW_HOME/dag-runs.log"
: > "$log"
airflow db migrate >> "$log" 2>&1
run() {  # dag_id [logical date]
  local dag=$1 started
  started=$(date +%s)
  if ! airflow dags test "$@" >> "$log" 2>&1 || ! grep -q "DagRun Finished: dag_id=$dag, .*state=success" "$log"; then
    echo "Airflow run of $dag failed; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  echo "airflow: $dag succeeded in $(( $(date +%s) - started )) s"
}
for dag in listening_ingest listening_enrich listening_marts; do
  run "$dag"
done
# The weekly digest runs on the Monday after a week; pretend it is the Monday after the newest week.
when=$(python -c "from pipelines.digest import next_run_after_data; from pipelines.project import open_project; print(next_run_after_data(open_project()))")
run listening_weekly_digest "$when"
echo "Airflow logs: $log"
