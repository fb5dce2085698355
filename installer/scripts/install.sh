#!/bin/sh
# bianmin node installer for Linux: needs python3 (3.11 or 3.12, with venv) and this folder only;
# nothing is downloaded. Run from the unpacked bundle:
#
#   sudo ./install.sh --central https://bianmin.city.example --token XXXX-XXXX-XXXX-XXXX-XXXX \
#        --node-id V000101 --parent T0101
#   sudo ./install.sh --enrol-file /media/usb/V000101.enrol.toml     (the city's file on a USB stick)
#
# Options: --prefix DIR (/opt/bianmin)  --data DIR (/var/lib/bianmin/node)  --port N (8000)
#          --network ID (rugao)  --user NAME (service account; default: the caller)
#          --unit-dir DIR (/etc/systemd/system)  --no-service  --no-enrol  --yes (fingerprint already
#          compared, e.g. given in the enrolment file)  --backup-to DIR (daily backup timer)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=/opt/bianmin
DATA=/var/lib/bianmin/node
PORT=8000
NETWORK=rugao
CENTRAL=""
TOKEN=""
NODE_ID=""
PARENT=""
ENROL_FILE=""
UNIT_DIR=/etc/systemd/system
SERVICE=1
ENROL=1
YES=0
BACKUP_TO=""
RUN_AS=$(id -un)
PYTHON=${PYTHON:-python3}

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --network) NETWORK=$2; shift 2 ;;
    --central) CENTRAL=$2; shift 2 ;;
    --token) TOKEN=$2; shift 2 ;;
    --node-id) NODE_ID=$2; shift 2 ;;
    --parent) PARENT=$2; shift 2 ;;
    --enrol-file) ENROL_FILE=$2; shift 2 ;;
    --unit-dir) UNIT_DIR=$2; shift 2 ;;
    --user) RUN_AS=$2; shift 2 ;;
    --backup-to) BACKUP_TO=$2; shift 2 ;;
    --no-service) SERVICE=0; shift ;;
    --no-enrol) ENROL=0; shift ;;
    --yes) YES=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] in ((3, 11), (3, 12)) else 1)' \
  || die "$PYTHON is not Python 3.11 or 3.12; install one (Debian: apt install python3 python3-venv)"

say "== 1/4 virtual environment in $PREFIX/venv (from the bundle's wheels only, no internet)"
mkdir -p "$PREFIX"
"$PYTHON" -m venv "$PREFIX/venv" || die "could not create a venv (Debian: apt install python3-venv)"
"$PREFIX/venv/bin/python" -m pip install --quiet --no-index --find-links "$HERE/wheels" bianmin \
  || die "pip could not install bianmin from $HERE/wheels"
BIANMIN="$PREFIX/venv/bin/bianmin"
"$BIANMIN" --version

mkdir -p "$DATA"
if [ "$ENROL" = 1 ] && [ ! -f "$DATA/node.toml" ]; then
  say "== 2/4 enrolment with the city"
  if [ -n "$ENROL_FILE" ]; then
    "$BIANMIN" enrol --data "$DATA" --file "$ENROL_FILE" | tee "$PREFIX/enrolment.txt" \
      || die "enrolment failed: see the message above"
  else
    [ -n "$CENTRAL" ] && [ -n "$TOKEN" ] && [ -n "$NODE_ID" ] \
      || die "give --central URL --token TOKEN --node-id ID, or --enrol-file FILE"
    set -- --data "$DATA" --central "$CENTRAL" --token "$TOKEN" --node-id "$NODE_ID" --network "$NETWORK"
    [ -n "$PARENT" ] && set -- "$@" --parent "$PARENT"
    "$BIANMIN" node init "$@" | tee "$PREFIX/enrolment.txt" || die "enrolment failed: see the message above"
  fi
  FP=$(sed -n 's/^city key fingerprint: //p' "$PREFIX/enrolment.txt")
  say ""
  say "  城市中心密钥指纹 / city key fingerprint:  $FP"
  if [ "$YES" != 1 ]; then
    printf '  与市中心管理员念给您的指纹一致吗？ Does it match what the city read to you? [y/N] '
    read -r answer || answer=n
    case "$answer" in
      y|Y|yes|是) ;;
      *) mv "$DATA" "$DATA.refused-$(date +%s)"; die "fingerprint not confirmed: enrolment set aside, nothing trusted" ;;
    esac
  fi
else
  say "== 2/4 enrolment skipped ($DATA/node.toml exists or --no-enrol)"
fi
[ "$RUN_AS" != "$(id -un)" ] && chown -R "$RUN_AS" "$DATA" 2>/dev/null || true

say "== 3/4 service unit in $UNIT_DIR"
mkdir -p "$UNIT_DIR"
cat > "$UNIT_DIR/bianmin-node.service" <<UNIT
[Unit]
Description=bianmin service-point node (便民服务点)
After=network-online.target
Wants=network-online.target

[Service]
User=$RUN_AS
ExecStart=$BIANMIN node run --data $DATA --port $PORT --host 127.0.0.1
Restart=on-failure
RestartSec=5
NoNewPrivileges=true

[Install]
WantedBy=multi-user.target
UNIT
if [ -n "$BACKUP_TO" ]; then
  cat > "$UNIT_DIR/bianmin-backup.service" <<UNIT
[Unit]
Description=bianmin daily backup (keys are never copied)

[Service]
Type=oneshot
User=$RUN_AS
ExecStart=$BIANMIN backup --data $DATA --to $BACKUP_TO --keep 7
UNIT
  cat > "$UNIT_DIR/bianmin-backup.timer" <<UNIT
[Unit]
Description=bianmin daily backup

[Timer]
OnCalendar=*-*-* 12:30:00
Persistent=true

[Install]
WantedBy=timers.target
UNIT
fi

say "== 4/4 start"
if [ "$SERVICE" = 1 ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
  systemctl enable --now bianmin-node.service
  [ -n "$BACKUP_TO" ] && systemctl enable --now bianmin-backup.timer
  say "the node runs as bianmin-node.service: open http://127.0.0.1:$PORT/"
else
  say "start it with: $BIANMIN node run --data $DATA --port $PORT   then open http://127.0.0.1:$PORT/"
fi
"$BIANMIN" doctor --data "$DATA" --offline || true
