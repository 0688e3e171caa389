#!/bin/bash
# `minio server …` arguments are accepted and ignored: radosgw listens on :9000. The container lives as long as radosgw.
set -euo pipefail
export D=/run/ceph-s3 S3_PORT=9000 S3_BIND=0.0.0.0 \
  S3_ACCESS_KEY=${MINIO_ROOT_USER:-minioadmin} S3_SECRET_KEY=${MINIO_ROOT_PASSWORD:-minioadmin}
/usr/local/bin/ceph-s3-up.sh
trap 'kill $(cat $D/run/*.pid) 2>/dev/null; exit 0' TERM INT
while kill -0 "$(cat "$D/run/client.rgw.a.pid")" 2>/dev/null; do sleep 2 & wait $!; done
echo "radosgw stopped; log: $(tail -n 20 $D/log/client.rgw.a.log)" >&2
exit 1
