# Sourced by Tabula's /init before it runs an apply script (sh -e), and by nothing else. It provides
# the two functions the rendered script (templates/apply.sh.hbs) expects the image to define, and that
# /init needs to observe the result:
#   tabula_dhcp IFACE                     DHCPv4 on IFACE; the lease keeps being renewed in the background
#   tabula_custom SCOPE IFACE KEY VALUE   custom properties: sysctl/<key> is applied (old value kept for
#                                         the rollback), tabula.peer-ping lists addresses /init pings
#                                         after the apply, anything else is recorded as not applied
#   tabula_ovs_start                      Open vSwitch in RAM (ovs plans call it before their first bridge)
# Everything they do is recorded under $TABULA_RUN (/run/tabula, tmpfs): dhcp.pids, dhcp.ifaces,
# lease.<iface> (written by the udhcpc hook), custom.log.
TABULA_RUN=${TABULA_RUN:-/run/tabula}
# Open vSwitch keeps its socket, database, pid files and logs here (tmpfs): nothing survives a boot.
OVS_RUNDIR=${OVS_RUNDIR:-/run/openvswitch}
OVS_DBDIR=${OVS_DBDIR:-$OVS_RUNDIR}
OVS_LOGDIR=${OVS_LOGDIR:-$OVS_RUNDIR}
export OVS_RUNDIR OVS_DBDIR OVS_LOGDIR

# ovsdb-server on a database created now from the shipped schema, then ovs-vswitchd on it. Once per
# apply: a running pair (a second bridge of the same plan) is kept; /init stops both on teardown.
tabula_ovs_start() {
  if [ -s "$OVS_RUNDIR/ovs-vswitchd.pid" ] && kill -0 "$(cat "$OVS_RUNDIR/ovs-vswitchd.pid")" 2>/dev/null; then return 0; fi
  # libcrc32c (under openvswitch) needs a crc32c implementation: a soft dependency modprobe skips.
  modprobe crc32c_generic 2>/dev/null || true
  modprobe openvswitch || { echo "tabula_ovs_start: the openvswitch module does not load" >&2; return 1; }
  rm -rf "$OVS_RUNDIR"
  mkdir -p "$OVS_RUNDIR"
  ovsdb-tool create "$OVS_DBDIR/conf.db" "${TABULA_OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}" || return 1
  ovsdb-server "$OVS_DBDIR/conf.db" --remote="punix:$OVS_RUNDIR/db.sock" --pidfile --detach --no-chdir \
    -vconsole:err --log-file="$OVS_LOGDIR/ovsdb-server.log" || { echo "tabula_ovs_start: ovsdb-server did not start" >&2; return 1; }
  ovs-vsctl --timeout=10 --no-wait init || return 1
  # Open vSwitch 3.1 (Debian 12) counts 0 CPUs while the monotonic clock is under 10 s (count_cpu_cores
  # refreshes only every 10 s, from 0): an ovs-vswitchd started that early sets up its kernel upcalls
  # with no handler thread and never forwards a packet (datapath 'missed' grows, no flow, empty fdb).
  # A fast boot reaches this point at about 6 s: wait until 11 s of uptime (at most those few seconds).
  while [ "$(cut -d. -f1 /proc/uptime)" -lt 11 ]; do sleep 0.25; done
  ovs-vswitchd "unix:$OVS_RUNDIR/db.sock" --pidfile --detach --no-chdir \
    -vconsole:err --log-file="$OVS_LOGDIR/ovs-vswitchd.log" || { echo "tabula_ovs_start: ovs-vswitchd did not start" >&2; return 1; }
  echo "tabula: Open vSwitch started (fresh database $OVS_DBDIR/conf.db)"
}

tabula_dhcp() {
  _if=$1
  _wait=${TABULA_DHCP_WAIT:-20}
  rm -f "$TABULA_RUN/lease.$_if"
  /sbin/ip link set dev "$_if" up
  # -f in a background job: udhcpc keeps renewing after the script ends; -n: it exits if no lease comes.
  udhcpc -f -n -t 5 -T 2 -i "$_if" -s "${TABULA_UDHCPC_SCRIPT:-/etc/udhcpc.script}" -x hostname:tabula \
    > "$TABULA_RUN/udhcpc.$_if.log" 2>&1 &
  _pid=$!
  echo "$_pid" >> "$TABULA_RUN/dhcp.pids"
  _i=0
  while [ "$_i" -lt $((_wait * 2)) ]; do
    [ -s "$TABULA_RUN/lease.$_if" ] && { echo "$_if" >> "$TABULA_RUN/dhcp.ifaces"; return 0; }
    kill -0 "$_pid" 2>/dev/null || break
    sleep 0.5
    _i=$((_i + 1))
  done
  kill "$_pid" 2>/dev/null
  echo "tabula_dhcp: no DHCP lease on $_if within ${_wait} s" >&2
  return 1
}

tabula_custom() {
  _scope=$1 _if=$2 _key=$3 _val=$4
  case "$_key" in
    sysctl/*)
      _k=${_key#sysctl/}
      _f=${TABULA_PROC_SYS:-/proc/sys}/$(printf '%s' "$_k" | tr . /)
      if [ ! -w "$_f" ]; then
        echo "tabula_custom: sysctl $_k does not exist in this kernel" >&2
        return 1
      fi
      _old=$(cat "$_f" 2>/dev/null | tr '\t' ' ')
      printf '%s' "$_val" > "$_f" || return 1
      # Tab-separated: key, old value, new value (values may hold spaces).
      printf 'sysctl\t%s\t%s\t%s\n' "$_k" "$_old" "$_val" >> "$TABULA_RUN/custom.log"
      ;;
    tabula.peer-ping)
      # Addresses /init pings after the apply (advisory checks peer:<addr>); at most 16, IPv4 only.
      : > "$TABULA_RUN/peers"
      for _p in $(printf '%s' "$_val" | tr ',' ' '); do
        case "$_p" in
          *[!0-9.]* | '') echo "tabula_custom: tabula.peer-ping: '$_p' is not an IPv4 address" >&2; return 1 ;;
        esac
        [ "$(grep -c . "$TABULA_RUN/peers")" -lt 16 ] && echo "$_p" >> "$TABULA_RUN/peers"
      done
      echo "tabula: peers to ping after the apply: $(tr '\n' ' ' < "$TABULA_RUN/peers")"
      ;;
    *)
      # No ethtool or other tools in the image: recorded and reported, left to admin hooks.
      printf 'skipped\t%s\t%s\t%s\n' "$_key" "$_if" "$_val" >> "$TABULA_RUN/custom.log"
      echo "tabula: custom property $_key=$_val ($_scope${_if:+ $_if}) not applied: no tool for it in the image"
      ;;
  esac
}
