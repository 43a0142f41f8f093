package testbed

import (
	"fmt"
	"golang.org/x/sys/unix"

	"github.com/vishvananda/netlink"

	"github.com/ipvsadm-go/ipvsadm/internal/ipvs/ipvstest"
	"github.com/vishvananda/netlink/nl"
)

// MarkIngress sets the firewall mark of packets arriving on the node's
// device dev for the destination ports of protocol proto (unix.IPPROTO_TCP
// or unix.IPPROTO_UDP), IPv4 and IPv6, as fwmark services (-f) need. It
// uses tc (an ingress qdisc and flower filters with a skbedit action),
// which runs before netfilter and IPVS see the packet.
func (n *Node) MarkIngress(dev string, proto uint8, mark uint32, ports ...uint16) {
	t := n.bed.t
	t.Helper()
	h := n.NS.Links()
	link := n.link(dev)
	ingress := netlink.MakeHandle(0xffff, 0)
	n.mu.Lock()
	first := !n.hasIngress[dev]
	if n.hasIngress == nil {
		n.hasIngress = map[string]bool{}
	}
	n.hasIngress[dev] = true
	n.mu.Unlock()
	if first {
		q := &netlink.Ingress{QdiscAttrs: netlink.QdiscAttrs{LinkIndex: link.Attrs().Index, Handle: ingress, Parent: netlink.HANDLE_INGRESS}}
		if err := h.QdiscAdd(q); err != nil {
			ipvstest.SkipOrFail(t, fmt.Sprintf("testbed: ingress qdisc on %s of %s (module sch_ingress loaded?): %v", dev, n.Name, err))
		}
	}
	p := nl.IPProto(proto)
	for _, port := range ports {
		for _, eth := range []uint16{unix.ETH_P_IP, unix.ETH_P_IPV6} {
			m := mark
			act := netlink.NewSkbEditAction()
			act.Mark = &m
			f := &netlink.Flower{
				FilterAttrs: netlink.FilterAttrs{LinkIndex: link.Attrs().Index, Parent: ingress, Protocol: eth},
				EthType:     eth,
				IPProto:     &p,
				DestPort:    port,
				Actions:     []netlink.Action{act},
			}
			if err := h.FilterAdd(f); err != nil {
				ipvstest.SkipOrFail(t, fmt.Sprintf("testbed: mark port %d on %s of %s (modules cls_flower, act_skbedit loaded?): %v", port, dev, n.Name, err))
			}
		}
	}
}
