#!/bin/sh
# Runs inside the Debian container .ci/package boots (systemd as PID 1, both packages
# installed): the office made as the booth user, booth-server.service started with its whole
# sandbox, /v1/health, the check page and /metrics answered, the watchdog fed, the process
# the booth user's. Writes /root/boot-check.out, with a line BOOT-CHECK-OK when all held; then it powers
# the container off.
exec >/root/boot-check.out 2>&1
set -u
ok=1
no() { echo "FAILED: $*"; ok=0; }

runuser -u booth -- booth server init --db sqlite:/var/lib/booth/office.db \
  --server-url https://booth.example:8443 >/dev/null || no "booth server init as the booth user"

dropin=/etc/systemd/system/booth-server.service.d
mkdir -p "$dropin"
if booth server check-config --help >/dev/null 2>&1; then
  # the unit and the example config as installed; a short watchdog, so that a few seconds
  # show that the server feeds it
  mode="as installed: Type=notify, --config /etc/booth/server.toml"
  watchdog=3
  printf '[Service]\nWatchdogSec=%ss\n' "$watchdog" >"$dropin/check.conf"
else
  # a server without --config and sd-notify (before SPEC §13's server work): the same
  # sandbox, started with flags
  mode="with flags and Type=simple: this build's server has no --config"
  watchdog=0
  printf '[Service]\nType=simple\nWatchdogSec=0\nExecStart=\nExecStart=%s\n' \
    "/usr/bin/booth server run --listen 127.0.0.1:8443 --db sqlite:/var/lib/booth/office.db" \
    >"$dropin/check.conf"
fi
echo "mode: $mode"
systemctl daemon-reload
# with Type=notify this returns once the server said READY=1
systemctl start booth-server || no "systemctl start booth-server"
i=0
until curl -sf http://127.0.0.1:8443/v1/health >/dev/null || [ $i -ge 40 ]; do
  sleep 0.5
  i=$((i + 1))
done
curl -sf http://127.0.0.1:8443/v1/health || no "/v1/health"
echo
[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8443/v)" = 200 ] || no "the check page /v"
if [ "$watchdog" -gt 0 ]; then
  # the example config's metrics listener (loopback, 9464), in the Prometheus text format
  curl -sf http://127.0.0.1:9464/metrics | grep -q '^booth_build_info{' || no "/metrics on 127.0.0.1:9464"
fi
if [ "$watchdog" -gt 0 ]; then
  # the watchdog's condition is time itself: past two periods, a server that never pinged
  # would have been killed and restarted
  sleep $((watchdog * 3))
fi
state=$(systemctl show booth-server -p ActiveState --value)
restarts=$(systemctl show booth-server -p NRestarts --value)
[ "$state" = active ] || no "booth-server is $state"
[ "$restarts" = 0 ] || no "booth-server restarted $restarts times"
pid=$(systemctl show booth-server -p MainPID --value)
[ "$(stat -c %U "/proc/$pid")" = booth ] || no "the server does not run as booth"
[ "$(stat -c '%U %a' /var/lib/booth/office.db)" = "booth 600" ] || no "office.db: $(stat -c '%U %a' /var/lib/booth/office.db)"
journalctl -u booth-server --no-pager | tail -n 5
systemd-analyze security booth-server | tail -n 1
if [ "$ok" = 1 ]; then
  echo "BOOT-CHECK-OK ($mode; systemd $(systemctl --version | head -n 1 | cut -d' ' -f2))"
fi
# (the manager is shutting down as systemctl returns: what it says then is no news)
systemctl poweroff >/dev/null 2>&1
