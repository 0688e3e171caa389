#!/usr/bin/env bash
# A minimal single-node Ceph (monitor + in-memory OSD + radosgw) serving the S3 API on 127.0.0.1:7480 with the
# access/secret key minioadmin/minioadmin. For tests on machines without Docker (MinIO has no Debian package; radosgw has).
# Root, no systemd. Needs: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common
# Usage: D=<state dir> scripts/ceph-s3-up.sh   (scripts/test-infra.sh calls it; stop = kill the pids in $D/run/*.pid)
# The store lives in memory (2 GiB) and frees deleted data only on garbage collection; tests that upload large files
# repeatedly should run `radosgw-admin -c $D/ceph.conf gc process --include-all` or use fresh keys.
set -euo pipefail
D=${D:-/tmp/agents-test-infra-s3}
PORT=${S3_PORT:-7480}
BIND=${S3_BIND:-127.0.0.1}   # 0.0.0.0 inside a container (the minio stand-in)
ACCESS_KEY=${S3_ACCESS_KEY:-minioadmin}
SECRET_KEY=${S3_SECRET_KEY:-minioadmin}

# Daemons left over from an earlier run in this same directory would hold the ports: stop them first (they are ours:
# their command line names this directory's ceph.conf).
if [ -d "$D/run" ]; then
  for f in "$D"/run/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$D/ceph.conf"; then kill "$pid" 2>/dev/null || true; fi
  done
  sleep 1
fi
rm -rf "$D"; mkdir -p "$D"/{mon.a,osd.0,rgw,run,log}; cd "$D"
FSID=$(cat /proc/sys/kernel/random/uuid)
# The "ms ... mode = crc" lines matter: without them radosgw waits 5 minutes on its first connection to the monitor.
cat > ceph.conf <<CONF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:3300,v1:127.0.0.1:6789]
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
ms mon cluster mode = crc
ms cluster mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
run dir = $D/run
log file = $D/log/\$name.log
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
keyring = $D/keyring
ms bind ipv6 = false
[mon.a]
mon data = $D/mon.a
[osd.0]
osd data = $D/osd.0
osd objectstore = memstore
memstore device bytes = 2147483648
osd max object name len = 460
osd max object namespace len = 64
[client.rgw.a]
# tcp_nodelay: without it beast's replies with a body (a LIST) waited ~40 ms for the client's delayed ACK (Nagle),
# a stall MinIO (Go sets TCP_NODELAY) does not have; it made every write's directory check look 40 ms slower.
rgw frontends = beast endpoint=$BIND:$PORT tcp_nodelay=1
rgw data = $D/rgw
CONF
C=(-c "$D/ceph.conf")
ceph-authtool --create-keyring keyring --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool keyring --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
monmaptool --create --addv a '[v2:127.0.0.1:3300,v1:127.0.0.1:6789]' --fsid "$FSID" monmap >/dev/null
ceph-mon "${C[@]}" --mkfs -i a --monmap monmap --keyring keyring
ceph-mon "${C[@]}" -i a                      # daemonizes
U=$(cat /proc/sys/kernel/random/uuid); ID=$(ceph "${C[@]}" osd new "$U")
ceph-osd "${C[@]}" -i "$ID" --mkfs --osd-uuid "$U" 2>/dev/null
ceph "${C[@]}" osd crush add-bucket localhost host >/dev/null
ceph "${C[@]}" osd crush move localhost root=default >/dev/null
ceph "${C[@]}" osd crush add "osd.$ID" 1.0 host=localhost >/dev/null
ceph-osd "${C[@]}" -i "$ID" 2>/dev/null      # daemonizes
radosgw "${C[@]}" -n client.rgw.a            # daemonizes
ready=0
for _ in $(seq 1 90); do
  if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then ready=1; break; fi
  sleep 1
done
if [ "$ready" != 1 ]; then
  echo "ceph-s3-up: radosgw did not answer on http://127.0.0.1:$PORT/ within 90 s; logs: $D/log/" >&2
  exit 1
fi
radosgw-admin "${C[@]}" user create --uid=agents-test --display-name=agents-test \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
echo "S3 ready on http://127.0.0.1:$PORT (access key $ACCESS_KEY); pids: $(cat run/*.pid | tr '\n' ' ')"
