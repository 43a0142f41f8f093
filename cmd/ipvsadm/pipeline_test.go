package main

import (
	"fmt"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/cmdline"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
	"github.com/ipvsadm-go/ipvsadm/internal/sched"
)

// callLog is a rules.ChangeQueue that writes down every call with its
// arguments.
type callLog struct{ calls []string }

func (q *callLog) log(name string, args ...any) {
	q.calls = append(q.calls, name+fmt.Sprintf("%+v", args))
}

func (q *callLog) AddService(s rules.Service)       { q.log("AddService", s) }
func (q *callLog) UpdateService(s rules.Service)    { q.log("UpdateService", s) }
func (q *callLog) DeleteService(k rules.ServiceKey) { q.log("DeleteService", k) }
func (q *callLog) AddDestination(k rules.ServiceKey, d rules.Destination) {
	q.log("AddDestination", k, d)
}
func (q *callLog) AddDestinationRef(k *rules.ServiceKey, d *rules.Destination) {
	q.AddDestination(*k, *d)
}
func (q *callLog) UpdateDestination(k rules.ServiceKey, d rules.Destination) {
	q.log("UpdateDestination", k, d)
}
func (q *callLog) DeleteDestination(k rules.ServiceKey, d rules.Destination) {
	q.log("DeleteDestination", k, d)
}
func (q *callLog) Flush()                         { q.log("Flush") }
func (q *callLog) ZeroAll()                       { q.log("ZeroAll") }
func (q *callLog) ZeroService(k rules.ServiceKey) { q.log("ZeroService", k) }
func (q *callLog) SetTimeouts(t rules.Timeouts)   { q.log("SetTimeouts", t) }
func (q *callLog) StartDaemon(d rules.Daemon)     { q.log("StartDaemon", d) }
func (q *callLog) StopDaemon(s rules.SyncState)   { q.log("StopDaemon", s) }
func (q *callLog) Len() int                       { return len(q.calls) }
func (q *callLog) Send() ([]error, error)         { return make([]error, len(q.calls)), nil }

// TestQueueChangeIsChangeOf holds queueChange, the restore's shortcut, to
// the Change that changeOf makes of the same command.
func TestQueueChangeIsChangeOf(t *testing.T) {
	lines := [][]string{
		{"-A", "-t", "10.0.0.1:80", "-s", "rr", "-p", "60", "-M", "255.255.255.0"},
		{"-A", "-u", "[2001:db8::1]:53", "-o", "--pe", "sip"},
		{"-A", "-f", "7", "-6", "-b", "sh-port", "-s", "sh"},
		{"-E", "-t", "10.0.0.1:80", "-s", "wlc"},
		{"-D", "-t", "10.0.0.1:80"},
		{"-C"},
		{"-a", "-t", "10.0.0.1:80", "-r", "172.16.0.1:8080", "-m", "-w", "3", "-x", "10", "-y", "2"},
		{"-a", "-f", "7", "-r", "2001:db8::2", "-i", "--tun-type", "gue", "--tun-port", "6080", "--tun-csum"},
		{"-e", "-t", "10.0.0.1:80", "-r", "172.16.0.1", "-g", "-w", "0"},
		{"-d", "-t", "10.0.0.1:80", "-r", "172.16.0.1:8080"},
		{"--set", "10", "20", "30"},
		{"--start-daemon", "master", "--mcast-interface", "lo", "--syncid", "3", "--mcast-group", "224.0.0.81", "--mcast-port", "8848", "--mcast-ttl", "2", "--sync-maxlen", "1400"},
		{"--stop-daemon", "backup"},
		{"-Z"},
		{"-Z", "-t", "0.0.0.0:0"},
		{"-Z", "-t", "10.0.0.1:80"},
		{"-L", "-n"},
		{"-S"},
	}
	parser := &cmdline.Parser{Argv0: "ipvsadm", SchedFlags: sched.ParseFlags}
	for _, args := range lines {
		cmd, err := parser.Parse(args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		var got, want callLog
		ok := queueChange(&got, &cmd)
		c, wantOK := changeOf(&cmd)
		if wantOK {
			c.QueueOn(&want)
		}
		if ok != wantOK || fmt.Sprint(got.calls) != fmt.Sprint(want.calls) {
			t.Errorf("%q: queueChange %v %v, changeOf %v %v", args, ok, got.calls, wantOK, want.calls)
		}
	}
}
