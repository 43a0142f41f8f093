#!/bin/sh
# vm/demo.sh - a load balancer at work, for newcomers. `make demo` boots the
# VM and runs this there (busybox sh, our ipvsadm first on PATH); it
# builds network namespaces, so it refuses to run anywhere else. The
# network is drawn by diagram() below.
#
# Each step prints a heading, the commands it runs and what they show;
# any failure stops the demo with "demo: FAILED: ..." and exit status 1.
set -eu

[ "${IPVSADM_VM:-}" = 1 ] || {
	echo "demo.sh: runs inside the test VM only; use: make demo" >&2
	exit 2
}

VIP=192.168.0.100
SERVICE=$VIP:80
DEMO=$(mktemp -d /tmp/demo.XXXXXX)

# The demo's namespaces, and at the end every process in them (servers,
# the processes that keep them): they go when the demo does, and so do
# its loops in the background (told to stop, then waited for).
nets=
cleanup() {
	touch "$DEMO/stop" "$DEMO/release"
	for p in /proc/[0-9]*; do
		case "$nets " in *" $(readlink "$p/ns/net" 2>/dev/null) "*) kill "${p#/proc/}" 2>/dev/null || true ;; esac
	done
	wait
	rm -rf "$DEMO"
}
trap cleanup EXIT

# drain RS: takes a real server out of rotation on the director (weight 0,
# its other settings kept): no new connections, the open ones go on, and
# it returns once the server's connections are gone.
# Its standard error goes to a file, so its progress comes as plain lines
# on standard output (not one line redrawn on the console) and does not
# mix with the rest of the demo.
drain() {
	run director ipvsadm --drain -t "$SERVICE" -r "$1:80" --drain-timeout 60s 2>"$DEMO/drain.err" ||
		{ cat "$DEMO/drain.err" && return 1; }
}

diagram() {
	cat <<'EOF'
  client 192.168.0.2 ---- director 192.168.0.1, VIP 192.168.0.100:80
                               |  10.0.0.1
                            switch
                       /       |       \
             rs1 10.0.0.11  rs2 .12  rs3 .13    (busybox httpd; NAT: -m)
EOF
}

step=0
heading() {
	step=$((step + 1))
	printf '\n=== %d. %s\n' "$step" "$*"
}
fail() {
	echo "demo: FAILED: $*"
	exit 1
}
# run HOST CMD...: prints the command, then runs it on HOST.
run() {
	echo "$1# $(shift && echo "$*")"
	on "$@" || fail "$* (exit status $?)"
}
# wait_until WHAT WANT CMD...: polls CMD (every 0.1 s, for up to 5 s)
# until it prints WANT; fails the demo with WHAT if it never does.
wait_until() {
	what=$1 want=$2
	shift 2
	tries=0
	until [ "$("$@")" = "$want" ]; do
		tries=$((tries + 1))
		[ "$tries" -le 50 ] || fail "waited 5 s for: $what"
		sleep 0.1
	done
}
# stats_conns: the connections the virtual service counted.
stats_conns() { on director ipvsadm -Ln --stats | awk '$1 == "TCP" { print $3 }'; }
# real_server_column RS N: column N of the real server's line of -Ln
# (4 weight, 5 active connections).
real_server_column() { on director ipvsadm -Ln | awk -v rs="$1:80" -v n="$2" '$2 == rs { print $n }'; }
# established: how many connections of the table are established.
established() { on director ipvsadm -Lnc --conn-state ESTABLISHED | grep -c ESTABLISHED; }
# answered FILE...: how many of the files end with a server's answer.
answered() { for f in "$@"; do tail -n 1 "$f"; done | grep -c '^rs[123]$'; }

# tally FILE: how many lines of FILE name each server.
tally() {
	printf 'rs1 %d, rs2 %d, rs3 %d' "$(grep -c '^rs1$' "$1")" "$(grep -c '^rs2$' "$1")" "$(grep -c '^rs3$' "$1")"
}

# A host is a network namespace kept by a sleeping process; on HOST CMD...
# runs a command there.
new_host() {
	unshare -n sleep 100000 &
	echo $! >"$DEMO/$1.pid"
	while [ "$(readlink "/proc/$!/ns/net")" = "$(readlink /proc/self/ns/net)" ]; do sleep 0.01; done
	nets="$nets $(readlink "/proc/$!/ns/net")"
	on "$1" ip link set lo up
}
on() {
	host=$1
	shift
	nsenter -t "$(cat "$DEMO/$host.pid")" -n "$@"
}
# wire HOST_A IF_A HOST_B IF_B: a cable (veth pair) between two hosts.
wire() {
	on "$1" ip link add name "$2" type veth # the other end is veth0
	on "$1" ip link set dev veth0 netns "$(cat "$DEMO/$3.pid")"
	on "$3" ip link set dev veth0 name "$4"
	on "$1" ip link set dev "$2" up
	on "$3" ip link set dev "$4" up
}

# get: one HTTP request from the client to the VIP; prints the page (the
# name of the real server that answered).
get() { on client timeout 5 wget -q -O - "http://$VIP/"; }

heading "Build the network: a client, a director, a switch and three real servers"
for h in client director switch rs1 rs2 rs3; do new_host "$h"; done
wire client eth0 director eth0
on client ip addr add 192.168.0.2/24 dev eth0
on director ip addr add 192.168.0.1/24 dev eth0
on director ip addr add "$VIP/24" dev eth0
on switch ip link add name br0 type bridge
on switch ip link set dev br0 up
wire director eth1 switch director
on switch ip link set dev director master br0
on director ip addr add 10.0.0.1/24 dev eth1
# NAT: answers go back through the director, which forwards them.
on director sysctl -q -w net.ipv4.ip_forward=1
for n in 1 2 3; do
	wire "rs$n" eth0 switch "rs$n"
	on switch ip link set dev "rs$n" master br0
	on "rs$n" ip addr add "10.0.0.1$n/24" dev eth0
	on "rs$n" ip route add default via 10.0.0.1
	mkdir -p "$DEMO/www/rs$n"
	echo "rs$n" >"$DEMO/www/rs$n/index.html"
	on "rs$n" httpd -p 80 -h "$DEMO/www/rs$n"
done
diagram

heading "Program the director with ipvsadm: one virtual service, round robin, two real servers"
run director ipvsadm -A -t "$SERVICE" -s rr
run director ipvsadm -a -t "$SERVICE" -r 10.0.0.11:80 -m
run director ipvsadm -a -t "$SERVICE" -r 10.0.0.12:80 -m
run director ipvsadm -Ln

heading "Six requests from the client to http://$VIP/"
for i in 1 2 3 4 5 6; do
	page=$(get) || fail "request $i got no answer"
	echo "request $i answered by $page"
	echo "$page" >>"$DEMO/first-requests"
done
[ "$(sort -u "$DEMO/first-requests" | tr '\n' ' ')" = "rs1 rs2 " ] ||
	fail "round robin should have used rs1 and rs2, it used: $(sort -u "$DEMO/first-requests" | tr '\n' ' ')"

heading "Counters per service and real server"
# The kernel adds up its per-CPU counters every 2 seconds: wait for them.
wait_until "the counters to show 6 connections" 6 stats_conns
run director ipvsadm -Ln --stats

heading "The connection table (closed connections wait in TIME_WAIT)"
run director ipvsadm -Lnc

heading "Reload under traffic: ipvsadm -R --replace applies only the difference"
cat >"$DEMO/rules" <<EOF
-A -t $SERVICE -s wrr
-a -t $SERVICE -r 10.0.0.11:80 -m -w 2
-a -t $SERVICE -r 10.0.0.12:80 -m -w 1
-a -t $SERVICE -r 10.0.0.13:80 -m -w 1
EOF
echo "The new table (weighted round robin, rs3 added, rs1 twice the weight):"
sed 's/^/  /' "$DEMO/rules"
# The client requests without pause until told to stop; answers (or
# FAILED) go to one file until the reload is done, to another after it.
(while [ ! -e "$DEMO/stop" ]; do
	if [ -e "$DEMO/reloaded" ]; then out=after; else out=before; fi
	get >>"$DEMO/$out" 2>&1 || echo FAILED >>"$DEMO/$out"
done) &
traffic=$!
sleep 1
echo "director# ipvsadm -R --replace < rules"
on director ipvsadm -R --replace <"$DEMO/rules" || fail "ipvsadm -R --replace (exit status $?)"
touch "$DEMO/reloaded"
sleep 2
touch "$DEMO/stop"
wait "$traffic"
printf 'until the reload was done: %3d requests, answered by %s\n' "$(wc -l <"$DEMO/before")" "$(tally "$DEMO/before")"
printf 'after the reload:          %3d requests, answered by %s\n' "$(wc -l <"$DEMO/after")" "$(tally "$DEMO/after")"
! grep -v '^rs[123]$' "$DEMO/before" "$DEMO/after" || fail "requests were not answered during the reload"
grep -q '^rs3$' "$DEMO/after" || fail "rs3 never answered after the reload"
run director ipvsadm -Ln

heading "Drain rs2: no new connections, the open ones finish"
# Four connections held open (each waits to send its request): with
# weights 2:1:1 one of them is on rs2.
for i in 1 2 3 4; do
	(
		while [ ! -e "$DEMO/release" ]; do sleep 0.1; done
		printf 'GET / HTTP/1.0\r\n\r\n'
	) | on client nc "$VIP" 80 >"$DEMO/held.$i" &
done
wait_until "4 established connections" 4 established
run director ipvsadm -Ln
drain 10.0.0.12 &
draining=$!
wait_until "rs2's weight to be 0" 0 real_server_column 10.0.0.12 4
run director ipvsadm -Ln
echo "New requests while rs2 drains:"
for i in 1 2 3 4; do
	page=$(get) || fail "request $i got no answer"
	echo "request $i answered by $page"
	[ "$page" != rs2 ] || fail "the draining rs2 got a new connection"
done
echo "rs2's open connection is still in the table:"
run director ipvsadm -Lnc --conn-real 10.0.0.12 --conn-state ESTABLISHED
echo "The held connections send their requests now; their answers:"
touch "$DEMO/release"
wait_until "answers on the 4 held connections" 4 answered "$DEMO"/held.*
for f in "$DEMO"/held.*; do tail -n 1 "$f"; done >"$DEMO/held"
echo "  $(tally "$DEMO/held")"
grep -q '^rs2$' "$DEMO/held" || fail "rs2 did not answer its open connection"
wait "$draining" || fail "drain 10.0.0.12 failed"
wait_until "rs2 to have no active connection" 0 real_server_column 10.0.0.12 5
echo "rs2 has no active connection left (ActiveConn 0), it can be removed:"
run director ipvsadm -Ln

printf '\n=== Done: the demo ran every step.\n'
