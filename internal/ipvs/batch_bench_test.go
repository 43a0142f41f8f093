package ipvs

import (
	"net/netip"
	"testing"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// BenchmarkBatchQueue is the encoding of a 12,000-line restore: 2,000
// services of 5 real servers, queued in rounds of 4,096 as a restore
// sends them.
func BenchmarkBatchQueue(b *testing.B) {
	var c Client
	batch := c.NewBatch()
	b.ReportAllocs()
	for b.Loop() {
		for i := range 2000 {
			svc := rules.Service{
				ServiceKey: rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP,
					Addr: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), Port: 80},
				Scheduler: "wlc", Netmask: 0xffffffff,
			}
			batch.AddService(svc)
			for j := range 5 {
				batch.AddDestination(svc.ServiceKey, rules.Destination{
					Addr: netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i*5 + j)}), Port: 8080,
					Forward: rules.Masquerade, Weight: 1,
				})
			}
			if batch.Len() >= 4096 {
				batch.reqs, batch.buf = batch.reqs[:0], batch.buf[:0]
			}
		}
	}
}
