package testbed

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// RxPackets is the number of packets the node's device dev has received.
func (n *Node) RxPackets(dev string) uint64 {
	t := n.bed.t
	t.Helper()
	l, err := n.NS.Links().LinkByName(dev)
	if err != nil {
		t.Fatalf("testbed: %s in %s: %v", dev, n.Name, err)
	}
	if s := l.Attrs().Statistics; s != nil {
		return s.RxPackets
	}
	return 0
}

// MAC is the hardware address of the node's device dev.
func (n *Node) MAC(dev string) string {
	n.bed.t.Helper()
	return n.link(dev).Attrs().HardwareAddr.String()
}

// NeighbourMAC is the hardware address the node's neighbour table holds
// for a, or "" when it has no entry.
func (n *Node) NeighbourMAC(a netip.Addr) string {
	t := n.bed.t
	t.Helper()
	fam := unix.AF_INET
	if a.Is6() {
		fam = unix.AF_INET6
	}
	neighs, err := n.NS.Links().NeighList(0, fam)
	if err != nil {
		t.Fatalf("testbed: neighbours of %s: %v", n.Name, err)
	}
	for _, ne := range neighs {
		if ip, ok := netip.AddrFromSlice(ne.IP); ok && ip.Unmap() == a {
			return ne.HardwareAddr.String()
		}
	}
	return ""
}

// UDPInDatagrams is the node's count of UDP datagrams delivered (the Udp
// InDatagrams of /proc/net/snmp in its namespace), IPv4 only.
func (n *Node) UDPInDatagrams() uint64 {
	t := n.bed.t
	t.Helper()
	var b []byte
	// thread-self: /proc/self/net is the namespace of the process.
	err := n.Do(func() (err error) { b, err = os.ReadFile("/proc/thread-self/net/snmp"); return err })
	if err != nil {
		t.Fatalf("testbed: snmp of %s: %v", n.Name, err)
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, name := range names {
			if name == "InDatagrams" && i < len(f) {
				v, err := strconv.ParseUint(f[i], 10, 64)
				if err != nil {
					t.Fatalf("testbed: snmp of %s: %v", n.Name, err)
				}
				return v
			}
		}
	}
	t.Fatalf("testbed: no Udp InDatagrams in the snmp of %s", n.Name)
	return 0
}

// Describe is a summary of the node's network state for failure
// messages: its devices with their packet, error and drop counters, and
// its neighbour entries.
func (n *Node) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n", n.Name)
	links, err := n.NS.Links().LinkList()
	if err != nil {
		return b.String() + "  links: " + err.Error() + "\n"
	}
	for _, l := range links {
		a := l.Attrs()
		fmt.Fprintf(&b, "  %s %s %s", a.Name, a.OperState, a.HardwareAddr)
		if s := a.Statistics; s != nil {
			fmt.Fprintf(&b, " rx %d err %d drop %d crc %d, tx %d err %d drop %d",
				s.RxPackets, s.RxErrors, s.RxDropped, s.RxCrcErrors, s.TxPackets, s.TxErrors, s.TxDropped)
		}
		b.WriteString("\n")
	}
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		neighs, err := n.NS.Links().NeighList(0, fam)
		if err != nil {
			continue
		}
		for _, ne := range neighs {
			if ne.IP.IsLinkLocalUnicast() || ne.IP.IsMulticast() {
				continue
			}
			fmt.Fprintf(&b, "  neighbour %s %s state %#x\n", ne.IP, ne.HardwareAddr, ne.State)
		}
	}
	return b.String()
}
