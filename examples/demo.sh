#!/usr/bin/env bash
# `make demo`: a local sandbox, then doctor → plan → apply → plan (no changes) → drift → plan →
# the catalog site (build/catalog/) → down.
set -euo pipefail
cd "$(dirname "$0")/.."

MESH=examples/mesh.yaml
# Below Linux's ephemeral range (32768-60999): a port in it may be held by any outgoing connection.
PORT="${MESHCTL_DEMO_PORT:-14566}"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:${PORT}"
unset AWS_PROFILE AWS_SESSION_TOKEN
export MESHCTL_HOME="${MESHCTL_HOME:-$PWD/.meshctl/demo}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Start the local multi-account sandbox and seed the producers' source tables"
# A demo interrupted earlier may have left its own sandbox (under the demo's MESHCTL_HOME) running.
meshctl sandbox down >/dev/null 2>&1 || true
meshctl sandbox up --port "$PORT" --seed "$MESH"
trap 'step "Stop the sandbox"; meshctl sandbox down' EXIT

step "meshctl doctor (a read-only preflight: what apply repairs is a warning; exit 1 on a failure)"
meshctl doctor -f "$MESH"

step "meshctl validate"
meshctl validate -f "$MESH"

step "meshctl plan --out (everything is missing; the plan is saved for apply)"
mkdir -p "$MESHCTL_HOME"
meshctl plan -f "$MESH" --out "$MESHCTL_HOME/plan.json"

step "meshctl apply PLANFILE (carries out exactly the plan shown above)"
meshctl apply "$MESHCTL_HOME/plan.json" -f "$MESH" --stats

step "meshctl plan --detailed-exitcode (AWS now matches mesh.yaml: exit 0)"
meshctl plan -f "$MESH" --detailed-exitcode
echo "exit code: $?"

step "Someone opens marketing's data cells filter on sales-111111111111.orders to every row, by hand"
python - <<'PY'
import boto3

sts = boto3.client("sts")
c = sts.assume_role(RoleArn="arn:aws:iam::555555555555:role/MeshctlDeployer", RoleSessionName="demo")["Credentials"]
lf = boto3.client("lakeformation", aws_access_key_id=c["AccessKeyId"],
                  aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
key = {"TableCatalogId": "555555555555", "DatabaseName": "sales-111111111111",
       "TableName": "orders", "Name": "meshctl-999999999999-sales.orders"}
found = lf.get_data_cells_filter(**key)["DataCellsFilter"]
lf.update_data_cells_filter(TableData={**found, "RowFilter": {"AllRowsWildcard": {}}})
print(f"filter {key['Name']}: rows where {found['RowFilter']['FilterExpression']} -> every row")
PY

step "meshctl plan shows the drift and the change that restores it (exit 2)"
set +e
meshctl plan -f "$MESH" --detailed-exitcode
rc=$?
set -e
echo "exit code: $rc"
[ "$rc" -eq 2 ]

step "meshctl access: who can read what now (marketing reads more rows than subscribed: flagged)"
meshctl access -f "$MESH" --product sales.orders

step "meshctl apply restores the filter in place; meshctl access has no problem left"
meshctl apply -f "$MESH" --auto-approve | tail -n 1
meshctl access -f "$MESH" --consumer marketing
meshctl access -f "$MESH" --consumer finance

step "meshctl catalog: the mesh as a static site for people (products, consumers, access map)"
meshctl catalog -f "$MESH" --out build/catalog
