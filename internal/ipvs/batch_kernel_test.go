package ipvs_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs"
	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

func TestKernelBatch(t *testing.T) {
	for _, window := range []int{0, 7} { // 0: the client's own sizing
		t.Run("window", func(t *testing.T) {
			c, ns := kernelClient(t)
			if window > 0 {
				ipvs.SetWindow(c, window)
			} else {
				require.GreaterOrEqual(t, ipvs.Window(c), 1024, "root may raise the receive buffer")
			}
			a := svc4(rules.TCP, v4a, 80, "rr")
			b := svc4(rules.UDP, v4a, 53, "wlc")
			missing := svc4(rules.TCP, v4b, 80, "rr")
			dest := func(i int) rules.Destination {
				return rules.Destination{Addr: netip.AddrFrom4([4]byte{192, 168, byte(i >> 8), byte(i)}), Port: 80, Forward: rules.Masquerade, Weight: 1}
			}

			batch := c.NewBatch()
			batch.AddService(a)                                                // 0 ok
			batch.AddService(a)                                                // 1 EEXIST
			batch.AddDestination(missing.ServiceKey, dest(1))                  // 2 ESRCH
			batch.AddService(b)                                                // 3 ok
			batch.AddService(with(b, func(s *rules.Service) { s.Addr = v6a })) // 4 local error
			const many = 2500
			for i := 1; i <= many; i++ {
				batch.AddDestination(a.ServiceKey, dest(i)) // 5.. ok
			}
			batch.AddDestination(a.ServiceKey, dest(1))                                                         // EEXIST
			batch.UpdateDestination(a.ServiceKey, with2(dest(9999), func(d *rules.Destination) {}))             // ENOENT
			batch.AddDestination(a.ServiceKey, with2(dest(3000), func(d *rules.Destination) { d.Weight = -1 })) // ERANGE
			batch.DeleteService(b.ServiceKey)                                                                   // ok
			batch.DeleteService(b.ServiceKey)                                                                   // ESRCH
			require.Equal(t, 5+many+5, batch.Len())

			res, err := batch.Send()
			require.NoError(t, err)
			require.Len(t, res, 5+many+5)
			require.Zero(t, batch.Len())
			require.NoError(t, res[0])
			require.ErrorIs(t, res[1], ipvs.ErrServiceExists)
			require.ErrorIs(t, res[2], ipvs.ErrNoService)
			require.NoError(t, res[3])
			require.Error(t, res[4])
			require.Zero(t, ipvs.Errno(res[4]), "refused before sending")
			for i := 5; i < 5+many; i++ {
				require.NoError(t, res[i], "request %d", i)
			}
			tail := res[5+many:]
			require.ErrorIs(t, tail[0], ipvs.ErrDestinationExists)
			require.ErrorIs(t, tail[1], ipvs.ErrNoDestination)
			require.ErrorIs(t, tail[2], unix.ERANGE)
			require.NoError(t, tail[3])
			require.ErrorIs(t, tail[4], ipvs.ErrNoService)

			ds, err := c.Destinations(a.ServiceKey)
			require.NoError(t, err)
			require.Len(t, ds, many)
			svcs, err := c.Services()
			require.NoError(t, err)
			require.Len(t, svcs, 1)

			// An empty batch sends nothing; the client still works.
			res, err = c.NewBatch().Send()
			require.NoError(t, err)
			require.Empty(t, res)
			_, err = c.Info()
			require.NoError(t, err)
			require.Contains(t, ns.Ipvsadm(t, "-Sn"), "-A -t 10.0.0.1:80 -s rr\n")
		})
	}
}
