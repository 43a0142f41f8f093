package ipvs

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// hostClient is a client on a real generic-netlink socket of the host,
// which needs no IPVS: its family is one the kernel does not have, so
// every request is answered with an ENOENT acknowledgement.
func hostClient(b *testing.B) *Client {
	t, err := openNetlink(0)
	if err != nil {
		b.Skip(err)
	}
	c := newClient(t, smallReadSize())
	c.family = 0x7ff0
	c.window = windowFor(t.readBuffer())
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkHostBatchSend is Batch.Send of 4,096 real-server additions on
// a host socket, each answered with an error acknowledgement.
func BenchmarkHostBatchSend(b *testing.B) {
	c := hostClient(b)
	batch := c.NewBatch()
	key := rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.AddrFrom4([4]byte{10, 0, 0, 1}), Port: 80}
	b.ReportAllocs()
	for b.Loop() {
		for i := range 4096 {
			batch.AddDestination(key, rules.Destination{Addr: netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}),
				Port: 8080, Forward: rules.Masquerade, Weight: 1})
		}
		results, err := batch.Send()
		if err != nil || len(results) != 4096 || Errno(results[4095]) != unix.ENOENT {
			b.Fatal(err, len(results), results[len(results)-1])
		}
	}
}

// BenchmarkHostDump is the generic-netlink controller's family dump
// through the client's request loop on a host socket.
func BenchmarkHostDump(b *testing.B) {
	c := hostClient(b)
	c.family = unix.GENL_ID_CTRL
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		err := c.execute(OpInfo, unix.CTRL_CMD_GETFAMILY, nlmFDump, nil, func(uint8, []byte) error { n++; return nil })
		if err != nil || n == 0 {
			b.Fatal(err, n)
		}
	}
}
