package testbed

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/mdlayher/genetlink"
	mdnetlink "github.com/mdlayher/netlink"
	vnetlink "github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
)

// DecapIPIP makes the node accept IP-in-IP packets from anywhere on
// tunl0: the ipip module's fallback device, or a device of its kind
// (no local, no remote address) where the kernel gives namespaces no
// fallback devices (net.core.fb_tunnels_only_for_init_net, as in the VM).
func (n *Node) DecapIPIP() {
	n.bed.t.Helper()
	n.anyTunnel("tunl0", "ipip", func(la vnetlink.LinkAttrs) vnetlink.Link { return &vnetlink.Iptun{LinkAttrs: la} })
}

// DecapGRE makes the node accept GRE packets without key or checksum
// from anywhere on gre0, as DecapIPIP does for IP-in-IP.
func (n *Node) DecapGRE() {
	n.bed.t.Helper()
	// An IPv4 local address, if only 0.0.0.0, makes the library ask for
	// an IPv4 GRE device (else ip6gre).
	n.anyTunnel("gre0", "ip_gre", func(la vnetlink.LinkAttrs) vnetlink.Link {
		return &vnetlink.Gretun{LinkAttrs: la, Local: net.IPv4zero}
	})
}

// DecapGUE makes the node accept GUE (generic UDP encapsulation) on the
// UDP port: a fou receive port of type GUE, which hands the inner IPv4
// packets to tunl0 (DecapIPIP).
func (n *Node) DecapGUE(port int) {
	t := n.bed.t
	t.Helper()
	n.DecapIPIP()
	err := n.Do(func() error { return addGUEPort(uint16(port)) })
	if err != nil {
		ipvstest.SkipOrFail(t, fmt.Sprintf("testbed: fou GUE port %d in %s (module fou loaded?): %v", port, n.Name, err))
	}
}

// anyTunnel sets up the tunnel device dev that takes packets from any
// address: the module's fallback device if the namespace has one, else
// a new one made by newLink. Its reverse path filter is off (the inner
// source is routed through another device).
func (n *Node) anyTunnel(dev, module string, newLink func(vnetlink.LinkAttrs) vnetlink.Link) {
	t := n.bed.t
	t.Helper()
	h := n.NS.Links()
	l, err := h.LinkByName(dev)
	var notFound vnetlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		la := vnetlink.NewLinkAttrs()
		la.Name = dev
		l = newLink(la)
		err = h.LinkAdd(l)
	}
	if err != nil {
		ipvstest.SkipOrFail(t, fmt.Sprintf("testbed: %s in %s (module %s loaded?): %v", dev, n.Name, module, err))
	}
	if err := h.LinkSetUp(l); err != nil {
		t.Fatalf("testbed: set %s up in %s: %v", dev, n.Name, err)
	}
	n.Sysctl("net.ipv4.conf."+dev+".rp_filter", "0")
}

// Attributes and values of the fou generic-netlink family (linux/fou.h).
const (
	fouCmdAdd      = 1
	fouAttrPort    = 1 // be16
	fouAttrAF      = 2 // u8
	fouAttrType    = 4 // u8
	fouEncapGUE    = 2
	fouGenlVersion = 1
)

// addGUEPort opens a fou receive port of type GUE in the calling
// thread's namespace (what "ip fou add port PORT gue" does).
func addGUEPort(port uint16) error {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return err
	}
	defer c.Close()
	fam, err := c.GetFamily("fou")
	if err != nil {
		return fmt.Errorf("generic netlink family fou: %w", err)
	}
	ae := mdnetlink.NewAttributeEncoder()
	ae.Bytes(fouAttrPort, binary.BigEndian.AppendUint16(nil, port))
	ae.Uint8(fouAttrAF, unix.AF_INET)
	ae.Uint8(fouAttrType, fouEncapGUE)
	data, err := ae.Encode()
	if err != nil {
		return err
	}
	msg := genetlink.Message{Header: genetlink.Header{Command: fouCmdAdd, Version: fouGenlVersion}, Data: data}
	_, err = c.Execute(msg, fam.ID, mdnetlink.Request|mdnetlink.Acknowledge)
	return err
}

// GRECsumDevice is the device DecapGRECsum creates.
const GRECsumDevice = "grecsum"

// greCsum is GRE_CSUM of linux/if_tunnel.h, in host order (the netlink
// library swaps it).
const greCsum = 0x8000

// DecapGRECsum makes the node accept GRE packets with checksums to its
// address local, on a device (GRECsumDevice) that requires them ("ip
// tunnel add grecsum mode gre local LOCAL icsum"): the fallback gre0
// counts them as checksum errors and drops them. Packets without a
// checksum to local are then refused; the device is deleted when the
// (sub)test ends.
func (n *Node) DecapGRECsum(local netip.Addr) {
	t := n.bed.t
	t.Helper()
	la := vnetlink.NewLinkAttrs()
	la.Name = GRECsumDevice
	dev := &vnetlink.Gretun{LinkAttrs: la, Local: local.AsSlice(), IFlags: greCsum}
	h := n.NS.Links()
	if err := h.LinkAdd(dev); err != nil {
		ipvstest.SkipOrFail(t, fmt.Sprintf("testbed: GRE device %s in %s (module ip_gre loaded?): %v", GRECsumDevice, n.Name, err))
	}
	t.Cleanup(func() { _ = h.LinkDel(dev) })
	if err := h.LinkSetUp(dev); err != nil {
		t.Fatalf("testbed: set %s up in %s: %v", GRECsumDevice, n.Name, err)
	}
	n.Sysctl("net.ipv4.conf."+GRECsumDevice+".rp_filter", "0")
}
