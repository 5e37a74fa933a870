# shellcheck shell=bash
# `install.sh etcd`: one member of an etcd cluster for several skiff-servers, from Debian's
# etcd-server package, on TLS with client certificates for peers and clients (sourced by
# install.sh, which provides log/die/apt_install/write_if_changed/start_daemon/...).
#
#   install.sh etcd --name NAME --ip IP [--join https://IP_OF_A_MEMBER:2379]
#                   [--ca-dir DIR] [--netns NS]
#
# The first member (no --join) starts a cluster of one and, unless --ca-dir holds a ca.crt and
# ca.key, makes the cluster's etcd CA. Every further member is added to the running cluster
# one at a time (`etcdctl member add`, then started with --initial-cluster-state existing), so
# machines can come up one after another, as Vagrant brings them up; give it the same CA with
# --ca-dir (copy ca.crt and ca.key from the first member's <data>/etcd/pki/, 0600). Each member
# issues its own serving/peer certificate (its IP, name, 127.0.0.1) and the client certificate
# skiff-server uses. The package's own etcd.service stays disabled; ours is skiff-etcd.service
# (or nohup without systemd), its data in SKIFF_DATA_DIR/etcd (/var/lib/skiff/etcd). Run again
# with the same flags, it changes nothing. It prints the skiff-server flags that reach it.

ETCD_DIR=${DATA_DIR}/etcd

etcd_pki() { # etcd_pki NAME IP CA_DIR: the CA (copied or made) and this member's certificates
  local name=$1 ip=$2 ca_dir=$3 pki="$ETCD_DIR/pki"
  mkdir -p "$pki"; chmod 700 "$ETCD_DIR" "$pki"
  if [ -n "$ca_dir" ]; then
    [ -s "$ca_dir/ca.crt" ] && [ -s "$ca_dir/ca.key" ] || die "--ca-dir $ca_dir: needs ca.crt and ca.key (from the first member's $pki)"
    if ! cmp -s "$ca_dir/ca.crt" "$pki/ca.crt" 2>/dev/null; then
      install -m 600 "$ca_dir/ca.key" "$pki/ca.key"; install -m 644 "$ca_dir/ca.crt" "$pki/ca.crt"
      rm -f "$pki/member.crt" "$pki/client.crt"
    fi
  elif [ ! -s "$pki/ca.key" ]; then
    log "making the etcd CA in $pki"
    (umask 077; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -subj "/CN=skiff-etcd-ca" -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null) || die "openssl could not make the etcd CA"
    chmod 644 "$pki/ca.crt"
  fi
  # re-issued when missing or when its IP changed
  if [ ! -s "$pki/member.crt" ] || ! openssl x509 -in "$pki/member.crt" -noout -text 2>/dev/null | grep -q "IP Address:$ip\b"; then
    etcd_cert "$pki" member "$name" "subjectAltName=DNS:$name,DNS:localhost,IP:$ip,IP:127.0.0.1
extendedKeyUsage=serverAuth,clientAuth"
  fi
  [ -s "$pki/client.crt" ] || etcd_cert "$pki" client skiff-server "extendedKeyUsage=clientAuth"
}

etcd_cert() { # etcd_cert PKI_DIR FILE CN EXTENSIONS
  local pki=$1 f=$2 cn=$3 ext=$4
  (umask 077
   openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$cn" -keyout "$pki/$f.key" -out "$pki/$f.csr" 2>/dev/null \
     && openssl x509 -req -in "$pki/$f.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 3650 \
          -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n%s\n' "$ext") -out "$pki/$f.crt" 2>/dev/null) \
    || die "openssl could not issue $f.crt"
  rm -f "$pki/$f.csr"; chmod 644 "$pki/$f.crt"
}

install_etcd() {
  local name='' ip='' join='' ca_dir='' netns=''
  while [ $# -gt 0 ]; do
    case "$1" in
      --name) name=${2:?--name NAME}; shift 2 ;;
      --ip) ip=${2:?--ip IP}; shift 2 ;;
      --join) join=${2:?--join URL}; shift 2 ;;
      --ca-dir) ca_dir=${2:?--ca-dir DIR}; shift 2 ;;
      --netns) netns=${2:?--netns NS}; shift 2 ;;
      *) die "etcd: unknown argument $1" ;;
    esac
  done
  [[ "$name" =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "etcd: --name must be a DNS label (got '$name')"
  [[ "$ip" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "etcd: --ip must be this member's IPv4 address (got '$ip')"
  need_root
  apt_install etcd-server etcd-client openssl
  # Debian's own etcd.service listens on localhost with no TLS: ours replaces it
  if have_systemd; then systemctl disable --now etcd >/dev/null 2>&1 || true; fi
  local prefix=()
  if [ -n "$netns" ]; then
    [ -e "/run/netns/$netns" ] || die "network namespace $netns does not exist (/run/netns/$netns)"
    prefix=("$(command -v nsenter)" "--net=/run/netns/$netns")
  fi
  etcd_pki "$name" "$ip" "$ca_dir"
  local data="$ETCD_DIR/data" peer="https://$ip:2380" client="https://$ip:2379" cluster state
  if [ -d "$data/member" ]; then
    # a member that has run keeps its own view of the cluster: flags below are ignored by etcd
    cluster=$(env_get "$CONFIG_DIR/skiff-etcd.env" SKIFF_ETCD_CLUSTER); state=existing
    [ -n "$cluster" ] || cluster="$name=$peer"
  elif [ -n "$join" ]; then
    log "adding $name ($peer) to the etcd cluster at $join"
    local out='' i
    # etcd refuses a new voting member until the members it has were connected for a few
    # seconds ("unhealthy cluster", strict reconfiguration check): the last join may be that recent
    for i in $(seq 1 30); do
      if out=$("${prefix[@]}" env ETCDCTL_API=3 etcdctl --cacert "$ETCD_DIR/pki/ca.crt" --cert "$ETCD_DIR/pki/member.crt" --key "$ETCD_DIR/pki/member.key" \
        --dial-timeout 5s --command-timeout 10s --endpoints "$join" member add "$name" --peer-urls "$peer" 2>&1); then break; fi
      case "$out" in *"unhealthy cluster"*) [ "$i" -lt 30 ] && { sleep 1; continue; } ;; esac
      die "etcdctl member add at $join failed: $out"
    done
    cluster=$(printf '%s\n' "$out" | sed -n 's/^ETCD_INITIAL_CLUSTER="\(.*\)"$/\1/p')
    [ -n "$cluster" ] || die "etcdctl member add printed no ETCD_INITIAL_CLUSTER: $out"
    state=existing
  else
    cluster="$name=$peer"; state=new
  fi
  local pki="$ETCD_DIR/pki"
  local args=(--name "$name" --data-dir "$data"
    --listen-client-urls "$client,https://127.0.0.1:2379" --advertise-client-urls "$client"
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer"
    --initial-cluster "$cluster" --initial-cluster-state "$state" --initial-cluster-token skiff-etcd
    --cert-file "$pki/member.crt" --key-file "$pki/member.key" --trusted-ca-file "$pki/ca.crt" --client-cert-auth
    --peer-cert-file "$pki/member.crt" --peer-key-file "$pki/member.key" --peer-trusted-ca-file "$pki/ca.crt" --peer-client-cert-auth
    --quota-backend-bytes 8589934592 --logger zap --log-outputs stderr)
  mkdir -p "$CONFIG_DIR"
  local changed=0
  write_if_changed "$CONFIG_DIR/skiff-etcd.env" 600 "# etcd flags, written by $CHECKOUT/scripts/install.sh etcd
SKIFF_ETCD_ARGS=\"${args[*]}\"
SKIFF_ETCD_CLUSTER=\"$cluster\"
SKIFF_NETNS=\"$netns\"" && changed=1
  if have_systemd; then
    write_if_changed "$UNIT_DIR/skiff-etcd.service" 644 "$(render_unit skiff-etcd "${prefix[*]:+${prefix[*]} }")" && changed=1
  fi
  start_daemon skiff-etcd "$changed" "${prefix[@]}" "$(command -v etcd)" "${args[@]}"
  local ok=0
  for _ in $(seq 1 150); do
    if "${prefix[@]}" env ETCDCTL_API=3 etcdctl --cacert "$pki/ca.crt" --cert "$pki/member.crt" --key "$pki/member.key" \
         --dial-timeout 2s --command-timeout 3s --endpoints "$client" endpoint health >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.2
  done
  [ $ok = 1 ] || die "etcd member $name is not healthy at $client (log: $LOG_DIR/skiff-etcd.log or journalctl -u skiff-etcd)"
  cat <<MSG

etcd member $name is running at $client (cluster: $cluster)
  CA for the next members (copy both, keep ca.key secret): $pki/ca.crt $pki/ca.key
  skiff-server flags: --datastore-endpoint $client[,https://OTHER:2379...] --datastore-cafile $pki/ca.crt \\
    --datastore-certfile $pki/client.crt --datastore-keyfile $pki/client.key
MSG
}

uninstall_etcd() { # uninstall_etcd PURGE
  [ -f "$CONFIG_DIR/skiff-etcd.env" ] || [ -f "$RUN_DIR/skiff-etcd.pid" ] || [ -f "$UNIT_DIR/skiff-etcd.service" ] || return 0
  stop_daemon skiff-etcd
  rm -f "$UNIT_DIR/skiff-etcd.service" "$CONFIG_DIR/skiff-etcd.env" "$RUN_DIR/skiff-etcd.pid"
  if [ "$1" = 1 ]; then
    log "purging the etcd member's data and certificates: $ETCD_DIR"
    rm -rf "$ETCD_DIR"; rm -f "$LOG_DIR/skiff-etcd.log"
  else
    log "kept the etcd member's data in $ETCD_DIR (this member is still in the cluster's member list: etcdctl member remove it elsewhere)"
  fi
}
