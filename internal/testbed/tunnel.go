package testbed

import (
	"encoding/binary"

	"fmt"
	"github.com/mdlayher/genetlink"
	mdnetlink "github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
)

// DecapIPIP makes the node accept IP-in-IP packets from anywhere: it sets
// up tunl0, the fallback device the ipip module gives every namespace.
func (n *Node) DecapIPIP() {
	n.bed.t.Helper()
	n.upFallback("tunl0", "ipip")
}

// DecapGRE makes the node accept GRE packets (without key) from anywhere:
// it sets up gre0, the fallback device of the ip_gre module.
func (n *Node) DecapGRE() {
	n.bed.t.Helper()
	n.upFallback("gre0", "ip_gre")
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

// upFallback sets a tunnel module's fallback device up, with no reverse
// path filter on it (the inner source is routed through another device).
func (n *Node) upFallback(dev, module string) {
	t := n.bed.t
	t.Helper()
	l, err := n.NS.Links().LinkByName(dev)
	if err != nil {
		ipvstest.SkipOrFail(t, fmt.Sprintf("testbed: %s in %s (module %s loaded?): %v", dev, n.Name, module, err))
	}
	if err := n.NS.Links().LinkSetUp(l); err != nil {
		t.Fatalf("testbed: set %s up in %s: %v", dev, n.Name, err)
	}
	n.Sysctl("net.ipv4.conf."+dev+".rp_filter", "0")
}

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
