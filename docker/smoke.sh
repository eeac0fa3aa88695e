#!/usr/bin/env bash
# End-to-end check of a running compose stack (docker compose -f docker/compose.yaml up -d):
# the web image serves pages and its collected static files, the CPU worker preprocesses an
# imported synthetic set, a clip uploaded through the API becomes ready, and the GPU worker
# trains on the set and scores the unlabelled clips. It writes a dataset named Smoke and an admin
# account named smoke-admin into the stack, so run it on a fresh stack, not in production.
#
#   docker/smoke.sh                 # uses `docker compose -f docker/compose.yaml`
#   COMPOSE="docker-compose -p mestudio -f docker/compose.yaml" docker/smoke.sh
# Needs curl and a Python with requests (PYTHON, default python3) on the host.
set -euo pipefail
cd "$(dirname "$0")/.."
COMPOSE=${COMPOSE:-docker compose -f docker/compose.yaml}
URL=${URL:-http://localhost:8000}
PYTHON=${PYTHON:-python3}  # with requests installed, for the API client example

manage() { $COMPOSE exec -T web python manage.py "$@"; }
step() { printf '\n== %s\n' "$*"; }

step "web answers and serves its own static files"
curl -fsS -o /dev/null "$URL/login/"
curl -fsS -o /dev/null "$URL/static/js/workbench.js"

step "a synthetic CASME II-style set, imported (labels become adjudicated annotations)"
$COMPOSE exec -T web python -m mlcore synth --out /media/smoke-set --layout casme2 \
  --subjects 6 --clips-per-subject 2 --frames 16 --size 160 120 --seed 0
manage shell --verbosity 0 -c "
from django.contrib.auth.models import Group, User
user, _ = User.objects.get_or_create(username='smoke-admin', is_staff=True, is_superuser=True)
user.groups.add(Group.objects.get(name='admin'))"
manage import_dataset --format casme2 --dataset Smoke --user smoke-admin \
  --annotations /media/smoke-set/CASME2-coding-20140508.xlsx --frames /media/smoke-set/CASME2_RAW

step "the CPU worker preprocesses every clip"
for _ in $(seq 1 120); do
  left=$(manage shell --verbosity 0 -c "
from annotator.models import Clip
print(Clip.objects.filter(subject__dataset__name='Smoke').exclude(ingest_status='ready').count())")
  [ "$left" = "0" ] && break
  sleep 5
done
[ "$left" = "0" ] || { echo "FAIL: $left clips not ready after 10 minutes"; exit 1; }

step "the README's API client uploads a clip through gunicorn; the CPU worker makes it ready"
token=$(manage shell --verbosity 0 -c "
from django.contrib.auth.models import User
from annotator.api.tokens import token_create
print(token_create(user=User.objects.get(username='smoke-admin')).key)")
dataset=$(manage shell --verbosity 0 -c "
from annotator.models import Dataset
print(Dataset.objects.get(name='Smoke').pk)")
upload=$(mktemp -d)/smoke-upload.zip
$COMPOSE exec -T web python -c "
import glob, shutil, sys
clip = sorted(glob.glob('/media/smoke-set/CASME2_RAW/*/*'))[0]
sys.stdout.buffer.write(open(shutil.make_archive('/tmp/upload', 'zip', clip), 'rb').read())" >"$upload"
$PYTHON docs/api_client_example.py --url "$URL" --token "$token" --dataset "$dataset" \
  --subject upload "$upload"

step "the GPU worker trains (k-fold, 2 epochs) and registers a model version"
manage train --dataset Smoke --model ststnet --protocol kfold --epochs 2 --wait
version=$(manage shell --verbosity 0 -c "
from annotator.models import ModelVersion
print(ModelVersion.objects.latest('pk').pk)")

step "activating version $version scores the clips without an adjudicated annotation"
manage shell --verbosity 0 -c "
from annotator.models import Annotation
labels = Annotation.objects.filter(clip__subject__dataset__name='Smoke', status='adjudicated')
Annotation.objects.filter(pk__in=list(labels.order_by('pk').values_list('pk', flat=True)[:4])).delete()"
manage train --activate "$version" --wait
manage shell --verbosity 0 -c "
from annotator.models import Clip, Proposal
unlabelled = Clip.objects.filter(subject__dataset__name='Smoke').exclude(
    annotations__status='adjudicated').count()
count = Proposal.objects.filter(model_version_id=$version).count()
assert count == unlabelled == 5, f'{count} proposals for {unlabelled} unlabelled clips'
print(f'{count} proposals from version $version')"
echo "OK: the stack works end to end"
