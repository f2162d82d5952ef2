# ngshare, the exchange service, for ngshare's Helm chart (hub/k8s/ngshare-values.yaml).
#
#   docker build -f hub/ngshare.Dockerfile -t registry.example.edu/ORG/dlcourse-ngshare:0.6.0-sqlalchemy1.4 .
#
# The same pins as the one-machine hub (hub/requirements-hub.txt: ngshare 0.6.0 with SQLAlchemy
# 1.4, under which it stores what it reports stored), and the same launcher, which refuses to
# start under SQLAlchemy 2. The chart passes ngshare's arguments and mounts its volume at
# /srv/ngshare (ngshare's default database and storage paths).
FROM python:3.11-slim-bookworm
COPY hub/requirements-hub.txt /opt/ngshare/requirements-hub.txt
RUN pip install --no-cache-dir -r /opt/ngshare/requirements-hub.txt && pip check
COPY hub/ngshare_service.py /opt/ngshare/ngshare_service.py
USER 65535:65535
ENTRYPOINT ["python3", "/opt/ngshare/ngshare_service.py"]
