#!/bin/sh
# /init of Tabula's stateless boot image (busybox ash). docs/image.md walks through it.
#
# On every boot, from a bare kernel and without any disk:
#   1. mount the pseudo filesystems, read the kernel command line, load the modules, wait for the NICs;
#   2. bring the boot NIC up with its provisioning address (the iPXE lease, else udhcpc) and POST the
#      NIC inventory to {server}/boot/{mac}/inventory;
#   3. GET the rendered apply script from {server}/boot/{mac}/config, flush the boot NIC and run the
#      script (sh -e) with TABULA_IP pointing at a recorder in front of iproute2's /sbin/ip;
#   4. verify what the kernel really holds against what the script meant to build (bonds with their
#      mode and options, members, carrier, VLANs, bridges, MTUs, addresses, routes, sysctls) and that
#      the server answers {server}/healthz over the new network;
#   5. on any failure roll back: delete every device the script created and put the provisioning
#      address back on the boot NIC;
#   6. POST the report to {server}/boot/{mac}/report, then stay up and poll the config: a new
#      generation is applied from scratch; an unreachable server leaves the network as it is.
# Every line it prints starts with "tabula:". All state lives in /run/tabula (tmpfs).

export PATH=/sbin:/bin:/usr/sbin:/usr/bin
umask 022
RUN=/run/tabula
TAB=$(printf '\t')
IPR=/sbin/ip # iproute2, always by absolute path: busybox's `ip` applet silently ignores bond options
TC=/sbin/tc # iproute2's tc: QoS limits (read back and reset)
# Open vSwitch (ovs plans only, started by the apply script): socket, database and logs in tmpfs.
export OVS_RUNDIR=/run/openvswitch OVS_DBDIR=/run/openvswitch OVS_LOGDIR=/run/openvswitch

# ------------------------------------------------------------------ helpers

uptime_s() { read -r _u _ < /proc/uptime && echo "${_u%.*}"; }
uptime_ms() { awk '{ printf "%d", $1 * 1000 }' /proc/uptime; }
log() {
  read -r _u _ < /proc/uptime 2>/dev/null || _u=?
  echo "tabula: [$_u] $*"
}
# A number, or the default when the value is empty or not a whole number.
num() { case "$1" in '' | *[!0-9]*) echo "$2" ;; *) echo "$1" ;; esac; }
json_str() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr -d '\000-\037' | cut -c1-1000; }
# Milliseconds since a mark taken with uptime_ms.
since() { echo $(($(uptime_ms) - $1)); }

halt_now() {
  log "powering off"
  sync
  poweroff -f
  sleep 5
}

# Ends the boot when nothing more can be done: powers off with tabula.once=1, else waits and reboots
# (a reboot is a fresh PXE boot and a fresh boot token).
give_up() {
  log "FATAL: $*"
  if [ "$ONCE" = 1 ]; then halt_now; fi
  log "rebooting in $POLL s"
  sleep "$POLL"
  reboot -f
}

# ------------------------------------------------------------------ 1. filesystems, command line

mount -t devtmpfs -o mode=0755 devtmpfs /dev 2>/dev/null
[ -c /dev/console ] && exec < /dev/console > /dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=0755,size=16m tmpfs /run
mkdir -p "$RUN" /tmp
T_START=$(uptime_ms)
KVER=$(uname -r)
hostname tabula 2>/dev/null
log "Tabula boot image, kernel $KVER, /init started"

BOOTIF='' SERVER='' TOKEN='' PIP='' PMASK='' PGW='' POLL='' ONCE='' SETTLE='' REACH='' DEBUG=''
set -f
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    BOOTIF=*) BOOTIF=${arg#*=} ;;
    tabula.server=*) SERVER=${arg#*=} ;;
    tabula.token=*) TOKEN=${arg#*=} ;;
    tabula.ip=*) PIP=${arg#*=} ;;
    tabula.mask=*) PMASK=${arg#*=} ;;
    tabula.gw=*) PGW=${arg#*=} ;;
    tabula.poll=*) POLL=${arg#*=} ;;
    tabula.once=*) ONCE=${arg#*=} ;;
    tabula.settle=*) SETTLE=${arg#*=} ;;
    tabula.reach=*) REACH=${arg#*=} ;;
    tabula.debug=*) DEBUG=${arg#*=} ;;
  esac
done
set +f
SERVER=${SERVER%/}
POLL=$(num "$POLL" 30)
[ "$POLL" -ge 1 ] || POLL=1
SETTLE=$(num "$SETTLE" 15)
REACH=$(num "$REACH" 60)
# BOOTIF=01-52-54-00-00-01-01 (ARP hardware type 1, then the MAC): 52:54:00:00:01:01.
BOOTMAC=''
case "$BOOTIF" in
  ??-??-??-??-??-??-??) BOOTMAC=$(echo "${BOOTIF#??-}" | tr 'A-F-' 'a-f:') ;;
  ??:??:??:??:??:?? | ??-??-??-??-??-??) BOOTMAC=$(echo "$BOOTIF" | tr 'A-F-' 'a-f:') ;;
esac
log "server ${SERVER:-<none>}, boot MAC ${BOOTMAC:-<none>}, provisioning ${PIP:-dhcp}${PIP:+/$PMASK}${PGW:+ via $PGW}, poll ${POLL}s${ONCE:+, once}"

# ------------------------------------------------------------------ modules and NICs

load_modules() {
  _ok=0 _bad=''
  while read -r _m; do
    [ -n "$_m" ] || continue
    case "$_m" in
      */bonding.ko) _args=max_bonds=0 ;; # else the module creates a bond0 of its own
      *) _args='' ;;
    esac
    # shellcheck disable=SC2086
    if insmod "/lib/modules/$KVER/$_m" $_args 2>/dev/null; then _ok=$((_ok + 1)); else _bad="$_bad ${_m##*/}"; fi
  done < /etc/tabula/modules.order
  log "loaded $_ok modules${_bad:+ (not loaded:$_bad)}"
}

# Physical NICs: entries of /sys/class/net with a device behind them (no lo, bonds, bridges, VLANs).
phys_nics() {
  for _d in /sys/class/net/*; do
    [ -e "$_d/device" ] && echo "${_d##*/}"
  done
}

nic_by_mac() {
  for _n in $(phys_nics); do
    [ "$(cat "/sys/class/net/$_n/address")" = "$1" ] && { echo "$_n"; return 0; }
  done
  return 1
}

# Waits until the NIC count has not changed for 1 s (and the boot NIC is there), at most SETTLE s.
settle_nics() {
  _deadline=$(($(uptime_s) + SETTLE))
  _last=-1 _stable=0
  while :; do
    _n=$(phys_nics | wc -l)
    if [ "$_n" = "$_last" ] && [ "$_n" -gt 0 ]; then _stable=$((_stable + 1)); else _stable=0; fi
    _last=$_n
    if [ "$_stable" -ge 4 ] && { [ -z "$BOOTMAC" ] || nic_by_mac "$BOOTMAC" > /dev/null; }; then break; fi
    if [ "$(uptime_s)" -ge "$_deadline" ]; then
      log "NICs still changing after ${SETTLE}s; going on with $_n"
      break
    fi
    sleep 0.25
  done
}

# The PCI address of a NIC: the nearest PCI device above it in sysfs (virtio NICs sit on virtioN).
pci_of() {
  _p=$(readlink -f "/sys/class/net/$1/device")
  while [ -n "$_p" ] && [ "$_p" != /sys ] && [ "$_p" != / ]; do
    case "${_p##*/}" in
      *[0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7]) echo "${_p##*/}"; return 0 ;;
    esac
    _p=${_p%/*}
  done
}

inventory_json() {
  printf '{"bootMac":"%s","nics":[' "$BOOTMAC"
  _sep=''
  for _n in $(phys_nics); do
    _d=/sys/class/net/$_n
    _drv=null
    [ -e "$_d/device/driver" ] && _drv="\"$(json_str "$(basename "$(readlink "$_d/device/driver")")")\""
    _speed=$(cat "$_d/speed" 2>/dev/null)
    case "$_speed" in '' | *[!0-9]* | 0) _speed=null ;; esac
    _carrier=false
    [ "$(cat "$_d/carrier" 2>/dev/null)" = 1 ] && _carrier=true
    _pci=$(pci_of "$_n")
    if [ -n "$_pci" ]; then _pci="\"$_pci\""; else _pci=null; fi
    printf '%s{"mac":"%s","name":"%s","driver":%s,"speed":%s,"carrier":%s,"pciAddress":%s}' \
      "$_sep" "$(cat "$_d/address")" "$(json_str "$_n")" "$_drv" "$_speed" "$_carrier" "$_pci"
    _sep=,
  done
  printf ']}\n'
}

# ------------------------------------------------------------------ provisioning network

mask2prefix() {
  case "$1" in
    '') echo 24; return ;;
    *.*.*.*) ;;
    *) num "$1" 24; return ;;
  esac
  _bits=0
  _oldifs=$IFS
  IFS=.
  # shellcheck disable=SC2086
  set -- $1
  IFS=$_oldifs
  for _o in "$@"; do
    case "$_o" in
      255) _bits=$((_bits + 8)) ;; 254) _bits=$((_bits + 7)) ;; 252) _bits=$((_bits + 6)) ;;
      248) _bits=$((_bits + 5)) ;; 240) _bits=$((_bits + 4)) ;; 224) _bits=$((_bits + 3)) ;;
      192) _bits=$((_bits + 2)) ;; 128) _bits=$((_bits + 1)) ;;
    esac
  done
  echo "$_bits"
}

# wait_carrier NIC QUARTERS: until NIC has carrier, at most QUARTERS/4 s (autonegotiation).
wait_carrier() {
  _i=0
  while [ "$(cat "/sys/class/net/$1/carrier" 2>/dev/null)" != 1 ] && [ "$_i" -lt "$2" ]; do
    sleep 0.25
    _i=$((_i + 1))
  done
}

# The boot NIC with its provisioning address: the lease iPXE got (tabula.ip/mask/gw), else DHCP.
prov_up() {
  $IPR link set dev "$BOOTNIC" up
  wait_carrier "$BOOTNIC" 40
  if [ -n "$PIP" ]; then
    $IPR -4 addr replace "$PIP/$(mask2prefix "$PMASK")" dev "$BOOTNIC" || return 1
    if [ -n "$PGW" ] && [ "$PGW" != 0.0.0.0 ]; then $IPR -4 route replace default via "$PGW" dev "$BOOTNIC"; fi
    log "provisioning address $PIP/$(mask2prefix "$PMASK") on $BOOTNIC${PGW:+ via $PGW}"
  else
    log "DHCP on $BOOTNIC"
    udhcpc -f -n -q -t 5 -T 2 -i "$BOOTNIC" -s /etc/udhcpc.script -x hostname:tabula 2>&1 | sed 's/^/tabula: udhcpc: /'
    [ -s "$RUN/lease.$BOOTNIC" ] || { log "no DHCP lease on $BOOTNIC"; return 1; }
  fi
}

# ------------------------------------------------------------------ HTTP (busybox wget)
# Bounded by `timeout`, never by wget -T: Debian's busybox 1.35 wget segfaults on -T.

# http_get PATH OUT: GET with the boot token; response headers land in OUT.headers.
http_get() {
  timeout 15 wget -S -q -O "$2" --header "X-Tabula-Token: $TOKEN" "$SERVER$1" 2> "$2.headers"
}

# http_post PATH FILE: POST a JSON file with the boot token; the answer lands in $RUN/response.
http_post() {
  timeout 15 wget -q -O "$RUN/response" --header "X-Tabula-Token: $TOKEN" \
    --header 'Content-Type: application/json' --post-file "$2" "$SERVER$1" 2> "$RUN/wget.err" && return 0
  log "POST $1 failed: $(wget_error "$RUN/wget.err")"
  return 1
}

wget_error() { tr '\n' ' ' < "$1" | sed 's/ *$//' | cut -c1-300; }

# retry SECONDS WHAT CMD...: runs CMD until it succeeds, 2 s apart, for at most SECONDS.
retry() {
  _limit=$(($(uptime_s) + $1))
  _what=$2
  shift 2
  while :; do
    "$@" && return 0
    [ "$(uptime_s)" -ge "$_limit" ] && return 1
    sleep 2
  done
}

fetch_config() { # OUT [QUERY]
  rm -f "$1" "$1.headers"
  http_get "/boot/$MACPATH/config$2" "$1" && [ -s "$1" ]
}

header_of() { # FILE NAME
  tr -d '\r' < "$1" | sed -n "s/^ *$2: *//Ip" | head -n1
}

generation_of() { # SCRIPT: from the header, else from the script's first comment lines
  _g=$(header_of "$1.headers" X-Tabula-Generation)
  [ -n "$_g" ] || _g=$(sed -n '1,10s/^#.*generation \([0-9][0-9]*\).*/\1/p' "$1" | head -n1)
  num "$_g" 0
}

# ------------------------------------------------------------------ apply

# What the script meant to build, from the recorded `ip` calls, one fact per line:
#   create DEV | bond DEV MODE | bondopt DEV KEY VALUE | vlan DEV BASE ID | bridge DEV |
#   bridgeopt DEV KEY VALUE | master DEV CONTROLLER | mtu DEV N | state DEV up|down | mac DEV MAC |
#   addr DEV FAMILY ADDR/PREFIX | route FAMILY DEST VIA DEV
intent_facts() {
  awk '
    function after(word,   k) { for (k = i; k <= NF; k++) if ($k == word) return $(k + 1); return "" }
    {
      fam = 4; i = 1
      if ($1 == "-4") { i = 2 } else if ($1 == "-6") { fam = 6; i = 2 }
      obj = $i; verb = $(i + 1)
      if (obj == "link" && verb == "add") {
        if ($(i + 2) == "link") {
          name = after("name"); print "create", name
          if (after("type") == "vlan") print "vlan", name, $(i + 3), after("id")
        } else {
          name = $(i + 2); type = after("type"); print "create", name
          for (t = i; t <= NF; t++) if ($t == "type") break
          if (type == "bond") {
            print "bond", name, after("mode")
            for (k = t + 2; k < NF; k += 2) if ($k != "mode") print "bondopt", name, $k, $(k + 1)
          } else if (type == "bridge") {
            print "bridge", name
            for (k = t + 2; k < NF; k += 2) print "bridgeopt", name, $k, $(k + 1)
          }
        }
      } else if (obj == "link" && verb == "set") {
        dev = after("dev")
        for (k = i + 2; k <= NF; k++) {
          if ($k == "master") print "master", dev, $(k + 1)
          else if ($k == "mtu") mtu[dev] = $(k + 1)
          else if ($k == "up" || $k == "down") state[dev] = $k
          else if ($k == "address") mac[dev] = $(k + 1)
        }
      } else if (obj == "addr" && verb == "add") {
        print "addr", after("dev"), fam, $(i + 2)
      } else if (obj == "route" && (verb == "add" || verb == "replace")) {
        f = ($(i + 2) ~ /:/) ? 6 : fam
        print "route", f, $(i + 2), after("via"), after("dev")
      }
    }
    END {
      for (d in mtu) print "mtu", d, mtu[d]
      for (d in state) print "state", d, state[d]
      for (d in mac) print "mac", d, mac[d]
    }
  ' "$RUN/intent.log"
}

# What an ovs plan's script meant to build, from the recorded ovs-vsctl calls (one command line each,
# clauses split on " -- "), one fact per line:
#   ovsbridge BR | ovsport BR PORT | ovsbond BOND IFACE... | ovsportopt PORT COLUMN VALUE |
#   ovsifaceopt IFACE COLUMN VALUE | ovsqos PORT TYPE MAX-RATE (a QoS row the port refers to)
# Values are kept as written (mac="..." keeps its quotes); references (qos=@qos) are not facts.
ovs_intent_facts() {
  [ -s "$RUN/ovs-intent.log" ] || return 0
  awk '
    function opts(kind, obj, from, to,   k, kv, eq) {
      for (k = from; k <= to; k++) {
        kv = w[k]; eq = index(kv, "=")
        if (eq > 1 && substr(kv, eq + 1, 1) != "@") print kind, obj, substr(kv, 1, eq - 1), substr(kv, eq + 1)
      }
    }
    {
      n = split($0, w, " "); start = 1
      for (i = 1; i <= n + 1; i++) {
        if (i <= n && w[i] != "--") continue
        c = w[start]
        if (c == "add-br") print "ovsbridge", w[start + 1]
        else if (c == "add-port") { print "ovsport", w[start + 1], w[start + 2]; opts("ovsportopt", w[start + 2], start + 3, i - 1) }
        else if (c == "add-bond") {
          print "ovsport", w[start + 1], w[start + 2]
          m = ""
          for (k = start + 3; k < i && index(w[k], "=") == 0; k++) m = m " " w[k]
          print "ovsbond", w[start + 2] m
          opts("ovsportopt", w[start + 2], k, i - 1)
        } else if (c == "set" && w[start + 1] == "interface") opts("ovsifaceopt", w[start + 2], start + 3, i - 1)
        else if (c == "set" && w[start + 1] == "port") {
          opts("ovsportopt", w[start + 2], start + 3, i - 1)
          for (k = start + 3; k < i; k++) if (w[k] ~ /^qos=@/) qosref[substr(w[k], 5)] = w[start + 2]
        } else if (c ~ /^--id=@/ && w[start + 1] == "create" && w[start + 2] == "qos") {
          ref = substr(c, 6); type = ""; rate = ""
          for (k = start + 3; k < i; k++) {
            if (w[k] ~ /^type=/) type = substr(w[k], 6)
            if (w[k] ~ /^other-config:max-rate=/) rate = substr(w[k], 23)
          }
          if (ref in qosref) print "ovsqos", qosref[ref], type, rate
        }
        start = i + 1
      }
    }
  ' "$RUN/ovs-intent.log"
}

# The QoS limits a linux plan's script set with tc (templates/apply.sh.hbs, qos-limit), one per line:
#   qos IFACE egress|ingress RATE-KBIT BURST-BYTES
tc_intent_facts() {
  [ -s "$RUN/tc-intent.log" ] || return 0
  awk '
    function after(word,   k) { for (k = 1; k < NF; k++) if ($k == word) return $(k + 1); return "" }
    { rate = after("rate"); sub(/kbit$/, "", rate) }
    $1 == "qdisc" && after("root") == "tbf" { print "qos", after("dev"), "egress", rate, after("burst") }
    $1 == "filter" && after("action") == "police" { print "qos", after("dev"), "ingress", rate, after("burst") }
  ' "$RUN/tc-intent.log"
}

# Stops Open vSwitch when it runs: ovs-vswitchd removes its datapaths and internal ports on the way out
# (exit --cleanup), which frees the NICs; the database goes with /run/openvswitch.
ovs_stop() {
  [ -d "$OVS_RUNDIR" ] || return 0
  if [ -s "$OVS_RUNDIR/ovs-vswitchd.pid" ]; then
    timeout 15 ovs-appctl -t ovs-vswitchd exit --cleanup > /dev/null 2>&1 || kill "$(cat "$OVS_RUNDIR/ovs-vswitchd.pid")" 2>/dev/null
  fi
  if [ -s "$OVS_RUNDIR/ovsdb-server.pid" ]; then
    timeout 10 ovs-appctl -t ovsdb-server exit > /dev/null 2>&1 || kill "$(cat "$OVS_RUNDIR/ovsdb-server.pid")" 2>/dev/null
  fi
  $IPR link del dev ovs-system 2>/dev/null
  rm -rf "$OVS_RUNDIR"
  log "Open vSwitch stopped"
}

# apply SCRIPT: runs it from a bare network; sets APPLY_RC.
apply_script() {
  : > "$RUN/intent.log"
  : > "$RUN/ovs-intent.log"
  : > "$RUN/tc-intent.log"
  : > "$RUN/custom.log"
  : > "$RUN/peers"
  : > "$RUN/dhcp.ifaces"
  : > "$RUN/dhcp.pids"
  rm -rf "$RUN/hooks" # hooks of the last generation must not linger
  mkdir -p "$RUN/hooks"
  $IPR -4 addr flush dev "$BOOTNIC"
  $IPR -4 route flush proto boot 2>/dev/null
  _x=''
  [ "$DEBUG" = 1 ] && _x=x
  TABULA_IP=/lib/tabula/ip-record TABULA_INTENT="$RUN/intent.log" TABULA_RUN="$RUN" TABULA_HOOKS="$RUN/hooks" \
    TABULA_UDHCPC_SCRIPT=/etc/udhcpc.script TABULA_OVS_VSCTL=/lib/tabula/ovs-vsctl-record TABULA_OVS_INTENT="$RUN/ovs-intent.log" \
    TABULA_TC=/lib/tabula/tc-record TABULA_TC_INTENT="$RUN/tc-intent.log" \
    sh -e$_x -c '. /lib/tabula/apply-env.sh; . "$1"' tabula-apply "$1" > "$RUN/apply.log" 2>&1
  APPLY_RC=$?
  sed 's/^/tabula: apply: /' "$RUN/apply.log"
  { intent_facts; ovs_intent_facts; tc_intent_facts; } > "$RUN/facts"
}

# ------------------------------------------------------------------ verify

CHECKS=$RUN/checks
FAILED=0

check() { # NAME true|false DETAIL [advisory]
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$(printf '%s' "$3" | tr '\t\n' '  ')" "$4" >> "$CHECKS"
  if [ "$2" = true ]; then
    log "check $1: ok${3:+ ($3)}"
  elif [ "$4" = advisory ]; then
    log "check $1: failed, advisory only${3:+ ($3)}"
  else
    FAILED=$((FAILED + 1))
    log "check $1: FAILED${3:+ ($3)}"
  fi
}

is() { [ "$1" = "$2" ] && echo true || echo false; }
facts() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$RUN/facts"; }
first_word() { cat "$1" 2>/dev/null | awk '{ print $1; exit }'; }
words_sorted() { tr ' ,' '\n\n' | sed '/^$/d' | sort | tr '\n' ' ' | sed 's/ $//'; }

verify_bonds() {
  facts bond | while read -r _b _mode; do
    _s=/sys/class/net/$_b/bonding
    if [ ! -d "$_s" ]; then
      check "bond:$_b" false "no bond $_b in the kernel"
      continue
    fi
    _have=$(cat "$_s/mode")
    check "bond:$_b:mode" "$( [ "${_have% *}" = "$_mode" ] || [ "${_have#* }" = "$_mode" ] && echo true || echo false)" "$_have (planned $_mode)"
    facts bondopt | awk -v b="$_b" '$1 == b { $1 = ""; sub(/^ /, ""); print }' | while read -r _k _v; do
      _cur=$(cat "$_s/$_k" 2>/dev/null)
      case "$_k" in
        arp_ip_target) _ok=$(is "$(echo "$_cur" | words_sorted)" "$(echo "$_v" | words_sorted)") ;;
        *) _ok=false
           { [ "${_cur%% *}" = "$_v" ] || [ "${_cur##* }" = "$_v" ]; } && _ok=true ;;
      esac
      check "bond:$_b:$_k" "$_ok" "${_cur:-<unset>} (planned $_v)"
    done
    _want=$(facts master | awk -v b="$_b" '$2 == b { print $1 }' | words_sorted)
    _got=$(words_sorted < "$_s/slaves")
    check "bond:$_b:ports" "$(is "$_got" "$_want")" "${_got:-none} (planned ${_want:-none})"
    # At least one member with carrier; links take a moment after the script brought them up.
    _deadline=$(($(uptime_s) + 10))
    while :; do
      _up=''
      for _p in $(cat "$_s/slaves"); do
        [ "$(cat "/sys/class/net/$_p/carrier" 2>/dev/null)" = 1 ] && _up="$_up $_p"
      done
      [ -n "$_up" ] || [ "$(uptime_s)" -ge "$_deadline" ] && break
      sleep 0.25
    done
    _active=$(cat "$_s/active_slave" 2>/dev/null)
    _mii=$(sed -n '1,/^$/s/^MII Status: //p' "/proc/net/bonding/$_b" 2>/dev/null | head -n1)
    check "bond:$_b:carrier" "$( [ -n "$_up" ] && echo true || echo false)" \
      "members with carrier:${_up:- none}${_active:+; active $_active}${_mii:+; bond MII $_mii}"
  done
}

# Open vSwitch read back (ovs-vsctl, ovs-appctl bond/show and lacp/show) against the recorded calls.
ovs_get() { ovs-vsctl --timeout=5 get "$@" 2>/dev/null | tr -d '"[] '; }
ovs_norm() { printf '%s' "$1" | tr -d '"[] '; }

verify_ovs() {
  [ -n "$(facts ovsbridge)" ] || return 0
  facts ovsbridge | while read -r _br; do
    if ! ovs-vsctl --timeout=5 br-exists "$_br" 2>/dev/null; then
      check "ovs:bridge:$_br" false "no Open vSwitch bridge $_br"
      continue
    fi
    _want=$(facts ovsport | awk -v b="$_br" '$1 == b { print $2 }' | words_sorted)
    _got=$(ovs-vsctl --timeout=5 list-ports "$_br" 2>/dev/null | words_sorted)
    check "ovs:bridge:$_br" "$(is "$_got" "$_want")" "ports ${_got:-none} (planned ${_want:-none})"
  done
  facts ovsportopt | while read -r _p _k _v; do
    _cur=$(ovs_get port "$_p" "$_k")
    check "ovs:port:$_p:$_k" "$(is "$_cur" "$(ovs_norm "$_v")")" "${_cur:-<unset>} (planned $(ovs_norm "$_v"))"
  done
  facts ovsifaceopt | while read -r _i _k _v; do
    # What the interface really has: mtu for mtu_request, mac_in_use for mac.
    case "$_k" in mtu_request) _col=mtu ;; mac) _col=mac_in_use ;; *) _col=$_k ;; esac
    _cur=$(ovs_get interface "$_i" "$_col")
    _want=$(ovs_norm "$_v")
    [ "$_col" = mac_in_use ] && _want=$(echo "$_want" | tr A-F a-f)
    check "ovs:iface:$_i:$_k" "$(is "$_cur" "$_want")" "$_col ${_cur:-<unset>} (planned $_want)"
  done
  facts ovsbond | while read -r _b _members; do
    _want=$(echo "$_members" | words_sorted)
    _lacp=$(facts ovsportopt | awk -v b="$_b" '$1 == b && $2 == "lacp" { print $3 }')
    # Members are enabled once they have carrier, and with LACP once the partner answers: give them
    # the time links take (10 s), with LACP the server's reach time (the partner may still be booting).
    _wait=10
    case "$_lacp" in active | passive) _wait=$REACH ;; esac
    _deadline=$(($(uptime_s) + _wait))
    while :; do
      timeout 5 ovs-appctl bond/show "$_b" > "$RUN/bond.$_b" 2>&1
      _got=$(sed -n 's/^\(member\|slave\) \([^:]*\): .*/\2/p' "$RUN/bond.$_b" | words_sorted)
      _on=$(sed -n 's/^\(member\|slave\) \([^:]*\): enabled.*/\2/p' "$RUN/bond.$_b" | words_sorted)
      [ -n "$_on" ] || [ "$(uptime_s)" -ge "$_deadline" ] && break
      sleep 0.5
    done
    check "ovs:bond:$_b:members" "$(is "$_got" "$_want")" "${_got:-none} (planned ${_want:-none})"
    _active=$(sed -n 's/^active \(member\|slave\) mac: .*(\(.*\))$/\2/p' "$RUN/bond.$_b" | head -n1)
    check "ovs:bond:$_b:enabled" "$( [ -n "$_on" ] && echo true || echo false)" "enabled: ${_on:-none}${_active:+; active $_active}"
    case "$_lacp" in active | passive) ;; *) continue ;; esac
    # LACP: the partner may answer a little later than carrier; advisory, like a silent peer.
    _deadline=$(($(uptime_s) + 15))
    while :; do
      timeout 5 ovs-appctl lacp/show "$_b" > "$RUN/lacp.$_b" 2>&1
      _st=$(sed -n 's/^[[:space:]]*status: //p' "$RUN/lacp.$_b" | head -n1)
      case "$_st" in *negotiated*) break ;; esac
      [ "$(uptime_s)" -ge "$_deadline" ] && break
      sleep 1
    done
    _partner=$(sed -n 's/^[[:space:]]*partner sys_id: //p' "$RUN/lacp.$_b" | head -n1)
    case "$_st" in *negotiated*) _ok=true ;; *) _ok=false ;; esac
    check "ovs:lacp:$_b" "$_ok" "status ${_st:-unknown}${_partner:+; partner $_partner}" advisory
  done
}

# Traffic control as the kernel holds it (tc JSON): the rate (bytes/s) and burst (bytes) of the root
# tbf qdisc, or of the police action on the ingress hook.
tc_root_tbf() { # IFACE -> "RATE BURST" or nothing
  $TC -j qdisc show dev "$1" root 2>/dev/null | awk '
    /"kind":"tbf"/ { if (match($0, /"rate":[0-9]+/)) r = substr($0, RSTART + 7, RLENGTH - 7)
                     if (match($0, /"burst":[0-9]+/)) b = substr($0, RSTART + 8, RLENGTH - 8) }
    END { if (r != "") print r, b }'
}
# The police action on the ingress hook, from tc's text: iproute2 6.1 leaves the police rate and burst
# out of its JSON. Rates print in bits with 1000-based prefixes (24Mbit), sizes in bytes with
# 1024-based ones (146Kb).
tc_ingress_police() { # IFACE -> "RATE BURST" (bytes/s, bytes) or nothing
  $TC filter show dev "$1" ingress 2>/dev/null | awk '
    function num(v, unit,   n) {
      n = v + 0; sub(/^[0-9.]+/, "", v)
      if (unit == "rate") return n * (v ~ /^[Tt]/ ? 1e12 : v ~ /^[Gg]/ ? 1e9 : v ~ /^[Mm]/ ? 1e6 : v ~ /^[Kk]/ ? 1e3 : 1) / 8
      return n * (v ~ /^[Gg]/ ? 1073741824 : v ~ /^[Mm]/ ? 1048576 : v ~ /^[Kk]/ ? 1024 : 1)
    }
    { for (i = 1; i < NF; i++) if ($i == "police") p = 1; else if (p && $i == "rate" && r == "") r = num($(i + 1), "rate"); else if (p && $i == "burst" && b == "") b = num($(i + 1), "size") }
    END { if (r != "") printf "%d %d\n", r, b }'
}
near() { # A B PERMILLE: A within PERMILLE/1000 of B
  awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= b * p / 1000) }'
}

# QoS limits: on a linux plan the tc state of each limited device (rate within 0.2 %, burst within
# 2 %); on an ovs plan the QoS rows the ports refer to (the policing columns are ovs:iface checks) and
# the police action Open vSwitch put on the device.
verify_qos() {
  facts qos | while read -r _d _dir _rate _burst; do
    if [ "$_dir" = egress ]; then _got=$(tc_root_tbf "$_d"); _what=tbf; else _got=$(tc_ingress_police "$_d"); _what=police; fi
    _want=$((_rate * 125))
    _r=${_got% *} _b=${_got#* }
    _ok=false
    # tc prints rates rounded to 4-5 digits; the kernel keeps a burst as time at the rate.
    [ -n "$_got" ] && near "$_r" "$_want" 2 && near "$_b" "$_burst" 20 && _ok=true
    if [ -n "$_got" ]; then _seen="$_what rate $((_r / 125)) kbit/s burst $_b bytes"; else _seen="no $_what on $_d"; fi
    check "qos:$_d:$_dir" "$_ok" "$_seen (planned $_rate kbit/s, burst $_burst bytes)"
  done
  facts ovsqos | while read -r _p _type _rate; do
    _q=$(ovs_get port "$_p" qos)
    if [ -z "$_q" ]; then
      check "ovs:qos:$_p" false "port $_p has no QoS (planned $_type max-rate $_rate)"
      continue
    fi
    _t=$(ovs_get qos "$_q" type)
    _r=$(ovs_get qos "$_q" other_config:max-rate)
    check "ovs:qos:$_p" "$( [ "$_t" = "$_type" ] && [ "$_r" = "$_rate" ] && echo true || echo false)" "$_t max-rate ${_r:-<unset>} (planned $_type max-rate $_rate)"
  done
  facts ovsifaceopt | awk '$2 == "ingress_policing_rate" { print $1, $3 }' | while read -r _i _rate; do
    [ "$_rate" = 0 ] && continue
    # ovs-vswitchd installs the policer shortly after the row changes.
    _deadline=$(($(uptime_s) + 5))
    while _got=$(tc_ingress_police "$_i"); [ -z "$_got" ] && [ "$(uptime_s)" -lt "$_deadline" ]; do sleep 0.5; done
    _r=${_got% *}
    if [ -n "$_got" ]; then _seen="police rate $((_r / 125)) kbit/s"; else _seen="no police action on $_i"; fi
    check "qos:$_i:policer" "$( [ -n "$_got" ] && near "$_r" "$((_rate * 125))" 2 && echo true || echo false)" "$_seen (planned $_rate kbit/s)"
  done
}

# 802.3ad bonds: the partner the bond's aggregator found (advisory, like ovs:lacp: the partner may
# still be booting). An all-zero partner MAC means no LACPDU was received.
verify_lacp() {
  facts bond | while read -r _b _mode; do
    [ "$_mode" = 802.3ad ] || continue
    _deadline=$(($(uptime_s) + REACH))
    while :; do
      _partner=$(cat "/sys/class/net/$_b/bonding/ad_partner_mac" 2>/dev/null)
      case "$_partner" in '' | 00:00:00:00:00:00) ;; *) break ;; esac
      [ "$(uptime_s)" -ge "$_deadline" ] && break
      sleep 1
    done
    _agg=$(cat "/sys/class/net/$_b/bonding/ad_aggregator" 2>/dev/null)
    _ports=$(cat "/sys/class/net/$_b/bonding/ad_num_ports" 2>/dev/null)
    case "$_partner" in '' | 00:00:00:00:00:00) _ok=false ;; *) _ok=true ;; esac
    check "lacp:$_b" "$_ok" "partner ${_partner:-unknown}; aggregator ${_agg:-?} with ${_ports:-0} port(s); lacp_rate $(cat "/sys/class/net/$_b/bonding/lacp_rate" 2>/dev/null)" advisory
  done
}

verify_vlans() {
  facts vlan | while read -r _v _base _id; do
    _line=$(awk -F'|' -v v="$_v" '{ gsub(/ /, "") } $1 == v { print $2, $3 }' /proc/net/vlan/config 2>/dev/null)
    _gid=${_line% *} _gbase=${_line#* }
    if [ -z "$_line" ]; then
      check "vlan:$_v" false "no VLAN device $_v (planned id $_id on $_base)"
    else
      check "vlan:$_v" "$( [ "$_gid" = "$_id" ] && [ "$_gbase" = "$_base" ] && echo true || echo false)" "id $_gid on $_gbase (planned id $_id on $_base)"
    fi
  done
}

verify_bridges() {
  facts bridge | while read -r _br; do
    _s=/sys/class/net/$_br
    if [ ! -d "$_s/bridge" ]; then
      check "bridge:$_br" false "no bridge $_br in the kernel"
      continue
    fi
    _want=$(facts master | awk -v b="$_br" '$2 == b { print $1 }' | words_sorted)
    _got=$(ls "$_s/brif" 2>/dev/null | words_sorted)
    _ok=$(is "$_got" "$_want")
    _detail="ports ${_got:-none} (planned ${_want:-none})"
    for _kv in $(facts bridgeopt | awk -v b="$_br" '$1 == b { print $2 "=" $3 }'); do
      _k=${_kv%%=*} _v=${_kv#*=}
      _cur=$(cat "$_s/bridge/$_k" 2>/dev/null)
      [ "$_cur" = "$_v" ] || _ok=false
      _detail="$_detail, $_k $_cur (planned $_v)"
    done
    check "bridge:$_br" "$_ok" "$_detail"
  done
}

verify_links() {
  facts mtu | while read -r _d _m; do
    _cur=$(cat "/sys/class/net/$_d/mtu" 2>/dev/null)
    check "mtu:$_d" "$(is "$_cur" "$_m")" "${_cur:-no device} (planned $_m)"
  done
  facts state | while read -r _d _st; do
    [ "$_st" = up ] || continue
    _flags=$(cat "/sys/class/net/$_d/flags" 2>/dev/null)
    _ok=false
    [ -n "$_flags" ] && [ $((_flags & 1)) = 1 ] && _ok=true
    check "up:$_d" "$_ok" "operstate $(cat "/sys/class/net/$_d/operstate" 2>/dev/null || echo missing)"
  done
  facts mac | while read -r _d _mac; do
    _cur=$(cat "/sys/class/net/$_d/address" 2>/dev/null)
    check "mac:$_d" "$(is "$_cur" "$(echo "$_mac" | tr A-F a-f)")" "${_cur:-no device} (planned $_mac)"
  done
}

verify_addresses() {
  facts addr | while read -r _d _fam _a; do
    if $IPR -o "-$_fam" addr show dev "$_d" 2>/dev/null | awk -v a="$_a" '$4 == a { f = 1 } END { exit !f }'; then
      check "addr:$_d:$_a" true "on $_d"
    else
      check "addr:$_d:$_a" false "not on $_d"
    fi
  done
  facts route | while read -r _fam _dst _via _d; do
    _got=$($IPR "-$_fam" route show "$_dst" 2>/dev/null | head -n1 | sed 's/ *$//')
    if echo "$_got" | awk -v via="$_via" -v dev="$_d" '
      { for (k = 1; k < NF; k++) { if ($k == "via" && $(k + 1) == via) v = 1; if ($k == "dev" && $(k + 1) == dev) d = 1 } }
      END { exit !(v && d) }'; then
      check "route:$_dst" true "$_got"
    else
      check "route:$_dst" false "${_got:-missing} (planned via $_via dev $_d)"
    fi
  done
  for _d in $(cat "$RUN/dhcp.ifaces" 2>/dev/null); do
    check "dhcp:$_d" true "$(grep -v '=$' "$RUN/lease.$_d" 2>/dev/null | tr '\n' ' ' | sed 's/ *$//')"
  done
}

verify_custom() {
  while IFS="$TAB" read -r _kind _k _a _b; do
    case "$_kind" in
      sysctl)
        _cur=$(tr '\t' ' ' < "/proc/sys/$(printf '%s' "$_k" | tr . /)" 2>/dev/null)
        check "sysctl:$_k" "$(is "$_cur" "$_b")" "$_cur (planned $_b)"
        ;;
      skipped) check "custom:$_k" true "not applied: no tool for it in the image${_a:+ ($_a)}" ;;
    esac
  done < "$RUN/custom.log"
}

# Stateless: the image never touches a disk. Reported, never a reason to roll back.
verify_stateless() {
  _blk=$(ls /sys/class/block 2>/dev/null | tr '\n' ' ' | sed 's/ $//')
  check block-devices true "${_blk:-none}"
}

# The engine over the new network: {server}/healthz, retried for REACH seconds.
verify_server() {
  _t0=$(uptime_ms)
  _deadline=$(($(uptime_s) + REACH))
  while :; do
    if timeout 4 wget -q -O /dev/null "$SERVER/healthz" 2> "$RUN/healthz.err"; then
      check server true "$SERVER/healthz answered after $(since "$_t0") ms"
      return
    fi
    [ "$(uptime_s)" -ge "$_deadline" ] && break
    sleep 1
  done
  check server false "$SERVER/healthz unreachable for ${REACH}s: $(wget_error "$RUN/healthz.err")"
}

# Peers named by the host property tabula.peer-ping (apply-env.sh writes $RUN/peers): each must answer
# a ping over the planned network within REACH seconds. Advisory: a silent peer is reported, never a
# reason to roll back (the peer may simply not be up yet). The virtual rack checks VLANs this way.
verify_peers() {
  [ -s "$RUN/peers" ] || return 0
  _t0=$(uptime_ms)
  _deadline=$(($(uptime_s) + REACH))
  : > "$RUN/peers.ok"
  while :; do
    for _p in $(cat "$RUN/peers"); do
      grep -qx "$_p" "$RUN/peers.ok" && continue
      ping -c 1 -W 1 "$_p" > /dev/null 2>&1 && echo "$_p" >> "$RUN/peers.ok" && log "peer $_p answered after $(since "$_t0") ms"
    done
    [ "$(grep -c . "$RUN/peers.ok")" -ge "$(grep -c . "$RUN/peers")" ] && break
    [ "$(uptime_s)" -ge "$_deadline" ] && break
    sleep 1
  done
  for _p in $(cat "$RUN/peers"); do
    if grep -qx "$_p" "$RUN/peers.ok"; then
      check "peer:$_p" true "answered ping" advisory
    else
      check "peer:$_p" false "no answer to ping within ${REACH}s" advisory
    fi
  done
}

verify() {
  : > "$CHECKS"
  FAILED=0
  if [ "$APPLY_RC" = 0 ]; then
    check apply true "$(grep -c '^tabula-step ' "$RUN/apply.log") steps"
  else
    check apply false "exit $APPLY_RC after: $(grep -v '^tabula-step done' "$RUN/apply.log" | tail -n 3 | tr '\n' ' ')"
  fi
  # Admin hooks the script ran (PHASE NAME EXIT per line), failed ones included.
  [ -f "$RUN/hooks/results" ] && while IFS="$TAB" read -r _ph _hn _rc; do
    [ -n "$_hn" ] && check "hook:$_ph:$_hn" "$(is "$_rc" 0)" "exit $_rc"
  done < "$RUN/hooks/results"
  if [ "$APPLY_RC" = 0 ]; then
    verify_bonds
    verify_vlans
    verify_bridges
    verify_ovs
    verify_qos
    verify_lacp
    verify_links
    verify_addresses
    verify_custom
  fi
  verify_stateless
  [ "$APPLY_RC" = 0 ] && verify_server
  [ "$APPLY_RC" = 0 ] && verify_peers
  # The checks ran in pipelines (subshells): count the failures from the file.
  FAILED=$(awk -F"$TAB" '$2 != "true" && $4 != "advisory"' "$CHECKS" | wc -l)
}

# ------------------------------------------------------------------ teardown and rollback

# Back to a bare network: every device the last script created, its DHCP clients, routes, sysctls,
# the NICs' addresses, masters, MTUs and MACs as they were at boot.
teardown() {
  ovs_stop
  for _pid in $(cat "$RUN/dhcp.pids" 2>/dev/null); do kill "$_pid" 2>/dev/null; done
  : > "$RUN/dhcp.pids"
  if [ -s "$RUN/facts" ]; then
    for _d in $(facts create | sed -n '1!G;h;$p'); do
      $IPR link del dev "$_d" 2>/dev/null && log "deleted $_d"
    done
  fi
  if [ -s "$RUN/custom.log" ]; then
    sed -n '1!G;h;$p' "$RUN/custom.log" | while IFS="$TAB" read -r _kind _k _old _new; do
      [ "$_kind" = sysctl ] && printf '%s' "$_old" > "/proc/sys/$(printf '%s' "$_k" | tr . /)" 2>/dev/null
    done
    : > "$RUN/custom.log"
  fi
  while read -r _n _mtu _mac; do
    [ -e "/sys/class/net/$_n" ] || continue
    $IPR link set dev "$_n" nomaster 2>/dev/null
    $TC qdisc del dev "$_n" root 2>/dev/null # QoS limits set on the NIC itself
    $TC qdisc del dev "$_n" ingress 2>/dev/null
    $IPR addr flush dev "$_n" scope global 2>/dev/null
    [ "$(cat "/sys/class/net/$_n/mtu")" = "$_mtu" ] || $IPR link set dev "$_n" mtu "$_mtu"
    [ "$(cat "/sys/class/net/$_n/address")" = "$_mac" ] || $IPR link set dev "$_n" address "$_mac"
    $IPR link set dev "$_n" up
  done < "$RUN/nics.boot"
  $IPR -4 route flush proto boot 2>/dev/null
  $IPR -6 route flush proto boot 2>/dev/null
  rm -f "$RUN/facts"
}

rollback() {
  log "ROLLBACK: $FAILED check(s) failed; back to the provisioning address on $BOOTNIC"
  teardown
  prov_up || log "could not restore the provisioning address on $BOOTNIC"
}

# ------------------------------------------------------------------ report

# The kernel's own view of the network, for the engine to compare with the plan (src/domain/observed.ts):
# iproute2's JSON as it is, plus the bond facts only sysfs has. Each part is dropped (null) when over
# KERNEL_PART_MAX bytes: a cut JSON document would only be refused, and the report must stay small.
KERNEL_PART_MAX=131072
ip_json() { # ARGS... of /sbin/ip -j
  _out=$($IPR -j "$@" 2>/dev/null)
  case "$_out" in
    '['*']') [ "${#_out}" -le "$KERNEL_PART_MAX" ] && { printf '%s' "$_out"; return; } ;;
  esac
  printf 'null'
}

BOND_SYSFS='mode miimon updelay downdelay arp_interval arp_ip_target arp_validate primary primary_reselect active_slave slaves lacp_rate xmit_hash_policy ad_select min_links fail_over_mac all_slaves_active mii_status ad_partner_mac ad_aggregator ad_num_ports ad_actor_system'

bonds_json() {
  printf '{'
  _sep='' _nb=0
  for _s in /sys/class/net/*/bonding; do
    [ -d "$_s" ] && [ "$_nb" -lt 32 ] || continue
    _nb=$((_nb + 1))
    _b=${_s%/bonding}
    printf '%s"%s":{' "$_sep" "$(json_str "${_b##*/}")"
    _s2=''
    for _k in $BOND_SYSFS; do
      [ -r "$_s/$_k" ] || continue
      _v=$(cat "$_s/$_k" 2>/dev/null | tr '\n' ' ' | sed 's/ *$//')
      printf '%s"%s":"%s"' "$_s2" "$_k" "$(json_str "$_v")"
      _s2=,
    done
    printf '}'
    _sep=,
  done
  printf '}'
}

# Open vSwitch as ovs-vsctl lists it (OVSDB JSON: headings and rows), and the bonds' and LACP's own
# words (ovs-appctl), when it runs; each part bounded like the iproute2 ones.
ovs_list_json() { # TABLE COLUMNS
  _out=$(ovs-vsctl --timeout=5 --format=json --data=json --columns="$2" list "$1" 2>/dev/null)
  case "$_out" in
    '{'*'}') [ "${#_out}" -le "$KERNEL_PART_MAX" ] && { printf '%s' "$_out"; return; } ;;
  esac
  printf 'null'
}
ovs_text_json() { # ovs-appctl ARGS...
  _out=$(timeout 5 ovs-appctl "$@" 2>/dev/null | head -c 16384)
  printf '"%s"' "$(printf '%s' "$_out" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr '\t' ' ' | awk '{ printf "%s\\n", $0 }')"
}
ovs_json() {
  if [ ! -S "$OVS_RUNDIR/db.sock" ]; then printf 'null'; return; fi
  printf '{"bridge":%s,"port":%s,"interface":%s,"qos":%s,"queue":%s,"bondShow":%s,"lacpShow":%s}' \
    "$(ovs_list_json bridge _uuid,name,ports,stp_enable,mcast_snooping_enable)" \
    "$(ovs_list_json port _uuid,name,interfaces,tag,trunks,vlan_mode,bond_mode,lacp,bond_updelay,bond_downdelay,other_config,qos)" \
    "$(ovs_list_json interface _uuid,name,type,mtu,mac_in_use,link_state,ingress_policing_rate,ingress_policing_burst)" \
    "$(ovs_list_json qos _uuid,type,other_config,queues)" \
    "$(ovs_list_json queue _uuid,other_config)" \
    "$(ovs_text_json bond/show)" "$(ovs_text_json lacp/show)"
}

# Traffic control: every qdisc (tc's JSON as it is) and the ingress filters of each device that has an
# ingress qdisc as tc prints them ({"DEV": "text"}: the police rate is not in tc 6.1's JSON), bounded.
tc_json() {
  _q=$($TC -j qdisc show 2>/dev/null)
  case "$_q" in '['*']') [ "${#_q}" -le "$KERNEL_PART_MAX" ] || _q=null ;; *) _q=null ;; esac
  printf '{"qdisc":%s,"ingress":{' "$_q"
  _sep=''
  for _d in $($TC qdisc show 2>/dev/null | awk '$2 == "ingress" { print $5 }' | sort -u | head -n 64); do
    printf '%s"%s":"%s"' "$_sep" "$(json_str "$_d")" "$($TC filter show dev "$_d" ingress 2>/dev/null | head -c 4096 | tr '\n\t' '  ' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
    _sep=,
  done
  printf '}}'
}

kernel_json() {
  _ovs=''
  [ -S "$OVS_RUNDIR/db.sock" ] && _ovs=",\"ovs\":$(ovs_json)"
  printf '{"link":%s,"addr":%s,"route4":%s,"route6":%s,"bonds":%s,"tc":%s%s}\n' \
    "$(ip_json -d link show)" "$(ip_json addr show)" "$(ip_json -4 route show)" "$(ip_json -6 route show)" "$(bonds_json)" "$(tc_json)" "$_ovs"
}

# The kernel state goes in when $RUN/kernel.json holds it (post_report empties it to send without).
report_json() { # GENERATION VERIFIED ROLLEDBACK
  awk -F"$TAB" -v gen="$1" -v verified="$2" -v rolled="$3" -v durations="$RUN/durations" -v kernel="$RUN/kernel.json" '
    function esc(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/[\001-\037]/, " ", s); return s }
    BEGIN { printf "{\"generation\":%d,\"verified\":%s", gen, verified; if (rolled == "true") printf ",\"rolledBack\":true"; printf ",\"checks\":[" }
    {
      printf "%s{\"name\":\"%s\",\"ok\":%s", (NR > 1 ? "," : ""), esc(substr($1, 1, 128)), ($2 == "true" ? "true" : "false")
      if ($3 != "") printf ",\"detail\":\"%s\"", esc(substr($3, 1, 1000))
      if ($4 == "advisory") printf ",\"advisory\":true"
      printf "}"
    }
    END {
      printf "],\"durationsMs\":{"
      n = 0
      while ((getline line < durations) > 0) { split(line, kv, " "); printf "%s\"%s\":%d", (n++ ? "," : ""), kv[1], kv[2] }
      printf "}"
      k = ""
      while ((getline line < kernel) > 0) k = k line "\n"
      if (k != "") printf ",\"kernel\":%s", k
      printf "}\n"
    }
  ' "$CHECKS"
}

duration() { echo "$1 $2" >> "$RUN/durations"; }

# send_report GENERATION VERIFIED ROLLEDBACK: one POST. A server that refuses the report (400) gets
# it again without the kernel state: the verdict matters more than the details, and an older server
# (or a kernel whose iproute2 JSON it does not expect) must not cost the blade its report.
send_report() {
  http_post "/boot/$MACPATH/report" "$RUN/report.json" && return 0
  grep -q ' 400 ' "$RUN/wget.err" && [ -s "$RUN/kernel.json" ] || return 1
  log "report refused (400): sending it again without the kernel state"
  : > "$RUN/kernel.json"
  report_json "$@" > "$RUN/report.json"
  http_post "/boot/$MACPATH/report" "$RUN/report.json"
}

post_report() { # GENERATION VERIFIED ROLLEDBACK
  duration uptime "$(uptime_ms)"
  kernel_json > "$RUN/kernel.json"
  report_json "$@" > "$RUN/report.json"
  if retry 60 report send_report "$@"; then
    log "report posted: generation $1, verified $2${3:+, rolled back $3}"
  else
    log "report not accepted: $(wget_error "$RUN/wget.err")"
  fi
}

# ------------------------------------------------------------------ one apply cycle

APPLIED_GEN=''

# cycle SCRIPT: apply, verify, roll back if needed, report.
cycle() {
  _gen=$(generation_of "$1")
  _fallback=$(header_of "$1.headers" X-Tabula-Fallback)
  log "applying generation $_gen${_fallback:+ (fallback plan: $_fallback)}"
  [ -s "$RUN/facts" ] && teardown
  cp "$1" "$RUN/config.sh"
  _t=$(uptime_ms)
  apply_script "$RUN/config.sh"
  duration apply "$(since "$_t")"
  _t=$(uptime_ms)
  verify
  duration verify "$(since "$_t")"
  APPLIED_GEN=$_gen
  if [ "$FAILED" -gt 0 ]; then
    _t=$(uptime_ms)
    rollback
    duration rollback "$(since "$_t")"
    post_report "$_gen" false true
  else
    log "generation $_gen verified"
    post_report "$_gen" true ''
  fi
}

# ------------------------------------------------------------------ main

[ -n "$SERVER" ] || give_up "no tabula.server= on the kernel command line"
: > "$RUN/durations"
duration kernel "$T_START"

_t=$(uptime_ms)
load_modules
duration modules "$(since "$_t")"

_t=$(uptime_ms)
settle_nics
# Every NIC up (carrier and speed are only known then), and their boot state kept for teardown.
: > "$RUN/nics.boot"
for n in $(phys_nics); do
  echo "$n $(cat "/sys/class/net/$n/mtu") $(cat "/sys/class/net/$n/address")" >> "$RUN/nics.boot"
  $IPR link set dev "$n" up 2>/dev/null
done
BOOTNIC=''
[ -n "$BOOTMAC" ] && BOOTNIC=$(nic_by_mac "$BOOTMAC")
if [ -z "$BOOTNIC" ]; then
  [ -n "$BOOTMAC" ] && log "no NIC has the boot MAC $BOOTMAC"
  BOOTNIC=$(phys_nics | head -n1)
  [ -n "$BOOTNIC" ] || give_up "no network interface found"
  BOOTMAC=$(cat "/sys/class/net/$BOOTNIC/address")
fi
MACPATH=$(echo "$BOOTMAC" | tr : -)
wait_carrier "$BOOTNIC" 40
duration nics "$(since "$_t")"
log "NICs: $(phys_nics | tr '\n' ' ')(boot NIC $BOOTNIC $BOOTMAC)"

_t=$(uptime_ms)
retry 60 network prov_up || give_up "the boot NIC $BOOTNIC got no provisioning address"
inventory_json > "$RUN/inventory.json"
if retry 60 inventory http_post "/boot/$MACPATH/inventory" "$RUN/inventory.json"; then
  log "inventory posted ($(phys_nics | wc -l) NICs)"
else
  log "inventory not accepted: $(wget_error "$RUN/wget.err")"
fi
duration inventory "$(since "$_t")"

_t=$(uptime_ms)
if retry 60 config fetch_config "$RUN/config.new"; then
  duration config "$(since "$_t")"
  cycle "$RUN/config.new"
else
  log "no apply script from the server: $(wget_error "$RUN/config.new.headers")"
  [ "$ONCE" = 1 ] && give_up "no configuration"
fi

[ "$ONCE" = 1 ] && halt_now

log "up; polling $SERVER/boot/$MACPATH/config every ${POLL}s"
UNREACHABLE=0 HELD=''
while :; do
  sleep "$POLL"
  # ?applied= tells the server what this blade runs: a host in maintenance answers 204 with
  # X-Tabula-Hold instead of a new generation (docs/image.md). A fresh boot never sends it.
  if fetch_config "$RUN/config.poll" "${APPLIED_GEN:+?applied=$APPLIED_GEN}"; then
    [ "$UNREACHABLE" = 1 ] && log "server reachable again"
    [ -n "$HELD" ] && log "hold ($HELD) lifted"
    UNREACHABLE=0 HELD=''
    _g=$(generation_of "$RUN/config.poll")
    if [ "$_g" != "$APPLIED_GEN" ]; then
      log "generation ${APPLIED_GEN:-none} -> $_g: applying from scratch"
      : > "$RUN/durations"
      cycle "$RUN/config.poll"
    fi
  elif _hold=$(header_of "$RUN/config.poll.headers" X-Tabula-Hold) && [ -n "$_hold" ]; then
    [ "$HELD" = "$_hold" ] || log "held by the server ($_hold): generation $(header_of "$RUN/config.poll.headers" X-Tabula-Generation) waits; keeping generation ${APPLIED_GEN:-none}"
    UNREACHABLE=0 HELD=$_hold
  else
    [ "$UNREACHABLE" = 0 ] && log "server unreachable ($(wget_error "$RUN/config.poll.headers")): keeping the network of generation ${APPLIED_GEN:-none}"
    UNREACHABLE=1
  fi
done
