#!/usr/bin/env bash
# Run the three listening DAGs through Airflow, in asset order, in-process (`airflow dags test`):
# listening_ingest -> listening_enrich -> listening_marts. Uses SQLite under $AIRFLOW_HOME; needs no
# server, scheduler or network. Fails on the first DAG run that does not succeed.
set -euo pipefail
: "${AIRFLOW_HOME:?set AIRFLOW_HOME}" "${LISTENING_CONFIG:?set LISTENING_CONFIG}"
mkdir -p "$AIRFLOW_HOME"
log="$AIRFLOW_HOME/dag-runs.log"
: > "$log"
airflow db migrate >> "$log" 2>&1
for dag in listening_ingest listening_enrich listening_marts; do
  started=$(date +%s)
  if ! airflow dags test "$dag" >> "$log" 2>&1 || ! grep -q "DagRun Finished: dag_id=$dag, .*state=success" "$log"; then
    echo "Airflow run of $dag failed; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  echo "airflow: $dag succeeded in $(( $(date +%s) - started )) s"
done
echo "Airflow logs: $log"
