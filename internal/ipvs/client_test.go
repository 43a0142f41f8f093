package ipvs

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nlenc"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// The tests below never touch a kernel: a fake kernel (fakekernel_test.go)
// stands in for the socket. Expected requests and canned replies are written with the netlink
// attribute encoder, spelling out every byte order the kernel expects
// (kernel-ipvs-reference.md §1.4–1.7, §7.4) rather than reusing the
// package's own helpers, so that an encoder mistake cannot hide in both.

// testFamily is the IPVS family as the fake controller reports it; the id is
// dynamic in a real kernel, so any value will do.
var testFamily = genetlink.Family{ID: 0x1d, Version: 1, Name: "IPVS"}

// Service keys shared by the tables.
var (
	tcp4  = rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	udp6  = rules.ServiceKey{Family: rules.IPv6, Protocol: rules.UDP, Addr: netip.MustParseAddr("2001:db8::1"), Port: 53}
	sctp4 = rules.ServiceKey{Family: rules.IPv4, Protocol: rules.SCTP, Addr: netip.MustParseAddr("192.0.2.7"), Port: 3868}
	fwm4  = rules.ServiceKey{Family: rules.IPv4, FWMark: 1}
	fwm6  = rules.ServiceKey{Family: rules.IPv6, FWMark: 0xdeadbeef}
)

// dial returns a client whose IPVS requests are answered by fn's replies,
// framed as the kernel frames them (see answer).
func dial(t *testing.T, fn func(greq genetlink.Message, nreq netlink.Message) []genetlink.Message) *Client {
	t.Helper()
	return dialRaw(t, func(greq genetlink.Message, nreq netlink.Message) []netlink.Message {
		return answer(t, nreq, 0, fn(greq, nreq))
	})
}

// A rawFunc answers an IPVS request with whole netlink messages.
type rawFunc func(greq genetlink.Message, nreq netlink.Message) []netlink.Message

// dialRaw returns a client on a fake kernel whose IPVS requests fn
// answers with whole netlink messages.
func dialRaw(t *testing.T, fn rawFunc) *Client {
	t.Helper()
	return newFakeKernel(t, fn).client()
}

// answer is the kernel's answer to nreq: an error acknowledgement if errno
// is set; else replies as a dump if nreq asked for one, or else the
// replies followed by the acknowledgement nreq asked for, if any.
func answer(t testing.TB, nreq netlink.Message, errno unix.Errno, replies []genetlink.Message) []netlink.Message {
	switch {
	case errno != 0:
		return []netlink.Message{nlAck(t, nreq, errno)}
	case nreq.Header.Flags&netlink.Dump == netlink.Dump:
		return multipart(t, replies)
	}
	out := plain(t, replies)
	if nreq.Header.Flags&netlink.Acknowledge != 0 {
		out = append(out, nlAck(t, nreq, 0))
	}
	return out
}

// multipart frames replies the way the kernel ends a dump: NLM_F_MULTI on
// every message and a final NLMSG_DONE carrying error 0.
func multipart(t testing.TB, msgs []genetlink.Message) []netlink.Message {
	t.Helper()
	out := make([]netlink.Message, 0, len(msgs)+1)
	for _, m := range msgs {
		b, err := m.MarshalBinary()
		require.NoError(t, err)
		out = append(out, netlink.Message{
			Header: netlink.Header{Type: netlink.HeaderType(testFamily.ID), Flags: netlink.Multi},
			Data:   b,
		})
	}
	return append(out, netlink.Message{
		Header: netlink.Header{Type: netlink.Done, Flags: netlink.Multi},
		Data:   nlenc.Int32Bytes(0),
	})
}

// plain frames replies to a doit request: no flags, no NLMSG_DONE.
func plain(t testing.TB, msgs []genetlink.Message) []netlink.Message {
	t.Helper()
	out := make([]netlink.Message, 0, len(msgs))
	for _, m := range msgs {
		b, err := m.MarshalBinary()
		require.NoError(t, err)
		out = append(out, netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(testFamily.ID)}, Data: b})
	}
	return out
}

// nlAck is the kernel's NLMSG_ERROR answer to nreq: error 0 is the ack of
// a successful change. Without NETLINK_CAP_ACK the whole request follows
// the negated errno.
func nlAck(t testing.TB, nreq netlink.Message, errno unix.Errno) netlink.Message {
	t.Helper()
	return netlink.Message{
		Header: netlink.Header{Type: netlink.Error, Sequence: nreq.Header.Sequence},
		Data:   append(nlenc.Int32Bytes(-int32(errno)), frame(nreq)...),
	}
}

// cappedAck is nlAck as a socket with NETLINK_CAP_ACK gets it: only the
// request's header is echoed.
func cappedAck(t testing.TB, nreq netlink.Message, errno unix.Errno) netlink.Message {
	t.Helper()
	return netlink.Message{
		Header: netlink.Header{Type: netlink.Error, Flags: netlink.Capped, Sequence: nreq.Header.Sequence},
		Data:   append(nlenc.Int32Bytes(-int32(errno)), frame(nreq)[:nlmsgHdrLen]...),
	}
}

// attrs encodes expected attributes; fn writes them.
func attrs(t testing.TB, fn func(ae *netlink.AttributeEncoder)) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	fn(ae)
	b, err := ae.Encode()
	require.NoError(t, err)
	return b
}

// nest adds the nested attribute typ holding what fn writes.
func nest(ae *netlink.AttributeEncoder, typ uint16, fn func(ae *netlink.AttributeEncoder)) {
	ae.Nested(typ, func(nae *netlink.AttributeEncoder) error {
		fn(nae)
		return nil
	})
}

// reply is a generic-netlink message of command cmd carrying fn's attributes.
func reply(t testing.TB, cmd uint8, fn func(ae *netlink.AttributeEncoder)) genetlink.Message {
	t.Helper()
	return genetlink.Message{
		Header: genetlink.Header{Command: cmd, Version: 1},
		Data:   attrs(t, fn),
	}
}

// An attr is one decoded attribute, nested ones with their children.
type attr struct {
	Type   uint16
	Nested bool
	Data   []byte
	Attrs  []attr
}

// parseAttrs decodes attribute bytes into a tree sorted by type: the kernel
// reads attributes by id, so requests are compared by content, not by the
// order the encoder happens to use. Duplicates survive and would show.
func parseAttrs(t *testing.T, b []byte) []attr {
	t.Helper()
	ad, err := netlink.NewAttributeDecoder(b)
	require.NoError(t, err)
	var out []attr
	for ad.Next() {
		a := attr{Type: ad.Type(), Nested: ad.TypeFlags()&netlink.Nested != 0}
		if a.Nested {
			a.Attrs = parseAttrs(t, ad.Bytes())
		} else {
			a.Data = ad.Bytes()
		}
		out = append(out, a)
	}
	require.NoError(t, ad.Err())
	slices.SortStableFunc(out, func(x, y attr) int { return cmp.Compare(x.Type, y.Type) })
	return out
}

// Wire forms, each with its byte order spelled out.

// nbo16 is a big-endian u16: service, destination and tunnel ports.
func nbo16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// inetAddr is union nf_inet_addr: 16 bytes, IPv4 in the first four.
func inetAddr(s string) []byte {
	b := make([]byte, 16)
	copy(b, netip.MustParseAddr(s).AsSlice())
	return b
}

// svcFlags is struct ip_vs_flags {flags, mask} in host order, with the
// mask that replaces every bit.
func svcFlags(flags uint32) []byte {
	return append(nlenc.Uint32Bytes(flags), nlenc.Uint32Bytes(0xffffffff)...)
}

// mask4 is an IPv4 persistence netmask: the mask's bytes, network order.
func mask4(s string) []byte { return netip.MustParseAddr(s).AsSlice() }

// plen6 is an IPv6 persistence netmask: a host-order prefix length.
func plen6(n uint32) []byte { return nlenc.Uint32Bytes(n) }

// keyAttrs writes a service identity as the kernel parses it: AF and FWMARK
// for fwmark services, else AF, PROTOCOL, 16-byte ADDR and big-endian PORT.
func keyAttrs(k rules.ServiceKey) func(ae *netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		ae.Bytes(svcAttrAF, nlenc.Uint16Bytes(uint16(k.Family)))
		if k.FWMark != 0 {
			ae.Bytes(svcAttrFWMark, nlenc.Uint32Bytes(k.FWMark))
			return
		}
		ae.Bytes(svcAttrProtocol, nlenc.Uint16Bytes(uint16(k.Protocol)))
		ae.Bytes(svcAttrAddr, inetAddr(k.Addr.String()))
		ae.Bytes(svcAttrPort, nbo16(k.Port))
	}
}

// svcKeyNest is a request's SERVICE nest carrying only the identity.
func svcKeyNest(k rules.ServiceKey) func(ae *netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) { nest(ae, cmdAttrService, keyAttrs(k)) }
}

// A clientTest is one request the client must send and the kernel's answer.
type clientTest struct {
	name  string
	call  func(c *Client) (any, error)
	cmd   uint8
	flags netlink.HeaderFlags
	attrs func(ae *netlink.AttributeEncoder) // nil: no attributes at all

	replies []genetlink.Message
	errno   unix.Errno
	want    any
}

// runClientTests runs each case against a fake kernel that checks the
// request's header and attributes before answering.
func runClientTests(t *testing.T, tests []clientTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []byte
			if tt.attrs != nil {
				want = attrs(t, tt.attrs)
			}
			requests := 0
			// check runs on the test goroutine (Execute is synchronous),
			// so require may stop the test from inside the fake.
			check := func(greq genetlink.Message, nreq netlink.Message) {
				requests++
				require.Equal(t, netlink.HeaderType(testFamily.ID), nreq.Header.Type, "netlink type")
				require.Equal(t, tt.flags, nreq.Header.Flags, "netlink flags")
				require.Equal(t, tt.cmd, greq.Header.Command, "command")
				require.Equal(t, uint8(1), greq.Header.Version, "version")
				require.Equal(t, parseAttrs(t, want), parseAttrs(t, greq.Data), "attributes")
			}

			// Answer as the kernel does: an error, a dump, or replies
			// followed by the ack the request asked for.
			c := dialRaw(t, func(greq genetlink.Message, nreq netlink.Message) []netlink.Message {
				check(greq, nreq)
				return answer(t, nreq, tt.errno, tt.replies)
			})

			got, err := tt.call(c)
			require.Equal(t, 1, requests, "requests sent")
			if tt.errno != 0 {
				require.ErrorIs(t, err, tt.errno)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// Shortcuts for the header flags each kind of command must carry
// (kernel-ipvs-reference.md §7.19).
const (
	change = netlink.Request | netlink.Acknowledge
	list   = netlink.Request | netlink.Dump
	doit   = netlink.Request
)

// none wraps a method without a result.
func none(fn func(c *Client) error) func(c *Client) (any, error) {
	return func(c *Client) (any, error) { return nil, fn(c) }
}

func TestClientInfoAndTimeouts(t *testing.T) {
	runClientTests(t, []clientTest{
		{
			name:  "info",
			call:  func(c *Client) (any, error) { return c.Info() },
			cmd:   cmdGetInfo,
			flags: doit,
			// GET_INFO answers with SET_INFO; ids 1 and 2 are not
			// SERVICE and DEST here.
			replies: []genetlink.Message{reply(t, cmdSetInfo, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(infoAttrVersion, nlenc.Uint32Bytes(0x010201))
				ae.Bytes(infoAttrConnTableSize, nlenc.Uint32Bytes(4096))
			})},
			want: rules.Info{Version: 0x010201, ConnTableSize: 4096},
		},
		{
			name:  "timeouts",
			call:  func(c *Client) (any, error) { return c.Timeouts() },
			cmd:   cmdGetConfig,
			flags: doit,
			replies: []genetlink.Message{reply(t, cmdSetConfig, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(cmdAttrTimeoutTCP, nlenc.Uint32Bytes(900))
				ae.Bytes(cmdAttrTimeoutTCPFin, nlenc.Uint32Bytes(120))
				ae.Bytes(cmdAttrTimeoutUDP, nlenc.Uint32Bytes(300))
			})},
			want: rules.Timeouts{TCP: 900, TCPFin: 120, UDP: 300},
		},
		{
			name:  "set timeouts",
			call:  none(func(c *Client) error { return c.SetTimeouts(rules.Timeouts{TCP: 3600, UDP: 60}) }),
			cmd:   cmdSetConfig,
			flags: change,
			// Top-level u32s; zero means "unchanged" to the kernel.
			attrs: func(ae *netlink.AttributeEncoder) {
				ae.Bytes(cmdAttrTimeoutTCP, nlenc.Uint32Bytes(3600))
				ae.Bytes(cmdAttrTimeoutTCPFin, nlenc.Uint32Bytes(0))
				ae.Bytes(cmdAttrTimeoutUDP, nlenc.Uint32Bytes(60))
			},
		},
		{
			name:  "zero all",
			call:  none(func(c *Client) error { return c.ZeroAll() }),
			cmd:   cmdZero,
			flags: change,
		},
		{
			name:  "zero service",
			call:  none(func(c *Client) error { return c.ZeroService(tcp4) }),
			cmd:   cmdZero,
			flags: change,
			attrs: svcKeyNest(tcp4),
		},
		{
			name:  "flush",
			call:  none(func(c *Client) error { return c.Flush() }),
			cmd:   cmdFlush,
			flags: change,
		},
	})
}

// fullService writes the SERVICE nest of NEW/SET_SERVICE: identity plus
// the four mandatory options and the optional PE.
func fullService(k rules.ServiceKey, sched string, flags, timeout uint32, netmask []byte, pe string) func(ae *netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		nest(ae, cmdAttrService, func(ae *netlink.AttributeEncoder) {
			keyAttrs(k)(ae)
			ae.Bytes(svcAttrSchedName, append([]byte(sched), 0))
			ae.Bytes(svcAttrFlags, svcFlags(flags))
			ae.Bytes(svcAttrTimeout, nlenc.Uint32Bytes(timeout))
			ae.Bytes(svcAttrNetmask, netmask)
			if pe != "" {
				ae.Bytes(svcAttrPEName, append([]byte(pe), 0))
			}
		})
	}
}

func TestClientServiceChanges(t *testing.T) {
	add := func(s rules.Service) func(c *Client) (any, error) {
		return none(func(c *Client) error { return c.AddService(s) })
	}
	runClientTests(t, []clientTest{
		{
			name:  "add TCP v4",
			call:  add(rules.Service{ServiceKey: tcp4, Scheduler: "wlc", Netmask: 0xffffffff}),
			cmd:   cmdNewService,
			flags: change,
			attrs: fullService(tcp4, "wlc", 0, 0, mask4("255.255.255.255"), ""),
		},
		{
			name: "add UDP v6 persistent with PE",
			call: add(rules.Service{ServiceKey: udp6, Scheduler: "rr", Flags: rules.FlagPersistent,
				Timeout: 300, Netmask: 64, PE: "sip"}),
			cmd:   cmdNewService,
			flags: change,
			attrs: fullService(udp6, "rr", 0x1, 300, plen6(64), "sip"),
		},
		{
			name: "add SCTP v4 persistent /24",
			call: add(rules.Service{ServiceKey: sctp4, Scheduler: "sh", Flags: rules.FlagPersistent,
				Timeout: 360, Netmask: 0xffffff00}),
			cmd:   cmdNewService,
			flags: change,
			attrs: fullService(sctp4, "sh", 0x1, 360, mask4("255.255.255.0"), ""),
		},
		{
			name: "add UDP one-packet",
			call: add(rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv4, Protocol: rules.UDP,
				Addr: netip.MustParseAddr("10.0.0.2"), Port: 514}, Scheduler: "rr", Flags: rules.FlagOnePacket, Netmask: 0xffffffff}),
			cmd:   cmdNewService,
			flags: change,
			attrs: fullService(rules.ServiceKey{Family: rules.IPv4, Protocol: rules.UDP,
				Addr: netip.MustParseAddr("10.0.0.2"), Port: 514}, "rr", 0x4, 0, mask4("255.255.255.255"), ""),
		},
		{
			name: "add sched flags",
			call: add(rules.Service{ServiceKey: tcp4, Scheduler: "mh",
				Flags: rules.FlagSched1 | rules.FlagSched2 | rules.FlagSched3, Netmask: 0xffffffff}),
			cmd:   cmdNewService,
			flags: change,
			attrs: fullService(tcp4, "mh", 0x38, 0, mask4("255.255.255.255"), ""),
		},
		{
			// HASHED is the kernel's own bit; a service read back and
			// written again must not send it.
			name: "add strips HASHED",
			call: add(rules.Service{ServiceKey: tcp4, Scheduler: "rr",
				Flags: rules.FlagPersistent | rules.FlagHashed, Timeout: 300, Netmask: 0xffffffff}),
			cmd:   cmdNewService,
			flags: change,
			attrs: fullService(tcp4, "rr", 0x1, 300, mask4("255.255.255.255"), ""),
		},
		{
			name:  "add fwmark v4",
			call:  add(rules.Service{ServiceKey: fwm4, Scheduler: "wrr", Netmask: 0xffffffff}),
			cmd:   cmdNewService,
			flags: change,
			attrs: fullService(fwm4, "wrr", 0, 0, mask4("255.255.255.255"), ""),
		},
		{
			name: "add fwmark v6 persistent",
			call: add(rules.Service{ServiceKey: fwm6, Scheduler: "none", Flags: rules.FlagPersistent,
				Timeout: 60, Netmask: 128}),
			cmd:   cmdNewService,
			flags: change,
			attrs: fullService(fwm6, "none", 0x1, 60, plen6(128), ""),
		},
		{
			name: "add port zero",
			call: add(rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP,
				Addr: netip.MustParseAddr("10.0.0.1")}, Scheduler: "rr", Flags: rules.FlagPersistent, Timeout: 300, Netmask: 0xffffffff}),
			cmd:   cmdNewService,
			flags: change,
			attrs: fullService(rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP,
				Addr: netip.MustParseAddr("10.0.0.1")}, "rr", 0x1, 300, mask4("255.255.255.255"), ""),
		},
		{
			// SET_SERVICE needs every option again; no PE attribute
			// means "remove the PE".
			name: "update v6 without PE",
			call: none(func(c *Client) error {
				return c.UpdateService(rules.Service{ServiceKey: udp6, Scheduler: "wlc", Netmask: 128})
			}),
			cmd:   cmdSetService,
			flags: change,
			attrs: fullService(udp6, "wlc", 0, 0, plen6(128), ""),
		},
		{
			name: "update fwmark v4 with PE",
			call: none(func(c *Client) error {
				return c.UpdateService(rules.Service{ServiceKey: fwm4, Scheduler: "lc", Flags: rules.FlagPersistent,
					Timeout: 900, Netmask: 0xffff0000, PE: "sip"})
			}),
			cmd:   cmdSetService,
			flags: change,
			attrs: fullService(fwm4, "lc", 0x1, 900, mask4("255.255.0.0"), "sip"),
		},
		{
			// An IPv4-mapped address is IPv6 to the kernel: AF 10 and
			// all 16 bytes, never unmapped to AF_INET.
			name: "add 4-in-6 as v6",
			call: add(rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv6, Protocol: rules.TCP,
				Addr: netip.MustParseAddr("::ffff:10.0.0.1"), Port: 80}, Scheduler: "rr", Netmask: 128}),
			cmd:   cmdNewService,
			flags: change,
			attrs: func(ae *netlink.AttributeEncoder) {
				nest(ae, cmdAttrService, func(ae *netlink.AttributeEncoder) {
					ae.Bytes(svcAttrAF, nlenc.Uint16Bytes(10))
					ae.Bytes(svcAttrProtocol, nlenc.Uint16Bytes(6))
					ae.Bytes(svcAttrAddr, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1})
					ae.Bytes(svcAttrPort, nbo16(80))
					ae.Bytes(svcAttrSchedName, []byte("rr\x00"))
					ae.Bytes(svcAttrFlags, svcFlags(0))
					ae.Bytes(svcAttrTimeout, nlenc.Uint32Bytes(0))
					ae.Bytes(svcAttrNetmask, plen6(128))
				})
			},
		},
		{
			name:  "delete TCP v4",
			call:  none(func(c *Client) error { return c.DeleteService(tcp4) }),
			cmd:   cmdDelService,
			flags: change,
			attrs: svcKeyNest(tcp4),
		},
		{
			name:  "delete SCTP v4",
			call:  none(func(c *Client) error { return c.DeleteService(sctp4) }),
			cmd:   cmdDelService,
			flags: change,
			attrs: svcKeyNest(sctp4),
		},
		{
			name:  "delete fwmark v6",
			call:  none(func(c *Client) error { return c.DeleteService(fwm6) }),
			cmd:   cmdDelService,
			flags: change,
			attrs: svcKeyNest(fwm6),
		},
	})
}

// svcReplyTCP4 is the kernel's answer for tcp4: every attribute of a
// service, HASHED set, both stats nests.
func svcReplyTCP4(t testing.TB) genetlink.Message {
	t.Helper()
	return reply(t, cmdNewService, func(ae *netlink.AttributeEncoder) {
		nest(ae, cmdAttrService, func(ae *netlink.AttributeEncoder) {
			keyAttrs(tcp4)(ae)
			ae.Bytes(svcAttrSchedName, []byte("wlc\x00"))
			ae.Bytes(svcAttrFlags, svcFlags(0x2|0x1))
			ae.Bytes(svcAttrTimeout, nlenc.Uint32Bytes(300))
			ae.Bytes(svcAttrNetmask, mask4("255.255.255.0"))
			nest(ae, svcAttrStats, stats32(rules.Stats{Conns: 1, InPkts: 2, OutPkts: 3, InBytes: 1 << 40, OutBytes: 5}))
			nest(ae, svcAttrStats64, stats64(rules.Stats{Conns: 1 << 33, InPkts: 2, OutPkts: 3, InBytes: 1 << 40, OutBytes: 5}))
		})
	})
}

func TestClientServiceReads(t *testing.T) {
	want := rules.Service{ServiceKey: tcp4, Scheduler: "wlc", Flags: rules.FlagPersistent, Timeout: 300, Netmask: 0xffffff00,
		ServiceCounters: rules.ServiceCounters{
			Stats:   rules.Stats{Conns: 1, InPkts: 2, OutPkts: 3, InBytes: 1 << 40, OutBytes: 5},
			Stats64: rules.Stats{Conns: 1 << 33, InPkts: 2, OutPkts: 3, InBytes: 1 << 40, OutBytes: 5}}}
	runClientTests(t, []clientTest{
		{
			name:    "service v4",
			call:    func(c *Client) (any, error) { return c.Service(tcp4) },
			cmd:     cmdGetService,
			flags:   doit,
			attrs:   svcKeyNest(tcp4),
			replies: []genetlink.Message{svcReplyTCP4(t)},
			want:    want,
		},
		{
			name:  "service fwmark v6",
			call:  func(c *Client) (any, error) { return c.Service(fwm6) },
			cmd:   cmdGetService,
			flags: doit,
			attrs: svcKeyNest(fwm6),
			replies: []genetlink.Message{reply(t, cmdNewService, func(ae *netlink.AttributeEncoder) {
				nest(ae, cmdAttrService, func(ae *netlink.AttributeEncoder) {
					keyAttrs(fwm6)(ae)
					ae.Bytes(svcAttrSchedName, []byte("rr\x00"))
					ae.Bytes(svcAttrFlags, svcFlags(0x2))
					ae.Bytes(svcAttrTimeout, nlenc.Uint32Bytes(0))
					ae.Bytes(svcAttrNetmask, plen6(128))
				})
			})},
			want: rules.Service{ServiceKey: fwm6, Scheduler: "rr", Netmask: 128},
		},
		{
			// Dumps ignore attributes; the client sends none.
			// The kernel's positional dump resume can repeat a
			// service when tables change between chunks; repeats are
			// dropped.
			name:    "services repeated",
			call:    func(c *Client) (any, error) { return c.Services() },
			cmd:     cmdGetService,
			flags:   list,
			replies: []genetlink.Message{svcReplyTCP4(t), svcReplyTCP4(t)},
			want:    []rules.Service{want},
		},
	})
}

// destNest writes a DEST nest with the attributes NEW/SET_DEST need, in
// the kernel's byte orders: ports big-endian, the rest host order.
func destNest(family uint16, addr string, port uint16, fwd, weight, uthresh, lthresh uint32,
	tunType uint8, tunPort, tunFlags uint16,
) func(ae *netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		nest(ae, cmdAttrDest, func(ae *netlink.AttributeEncoder) {
			ae.Bytes(destAttrAddrFamily, nlenc.Uint16Bytes(family))
			ae.Bytes(destAttrAddr, inetAddr(addr))
			ae.Bytes(destAttrPort, nbo16(port))
			ae.Bytes(destAttrFwdMethod, nlenc.Uint32Bytes(fwd))
			ae.Bytes(destAttrWeight, nlenc.Uint32Bytes(weight))
			ae.Bytes(destAttrUThresh, nlenc.Uint32Bytes(uthresh))
			ae.Bytes(destAttrLThresh, nlenc.Uint32Bytes(lthresh))
			ae.Bytes(destAttrTunType, []byte{tunType})
			ae.Bytes(destAttrTunPort, nbo16(tunPort))
			ae.Bytes(destAttrTunFlags, nlenc.Uint16Bytes(tunFlags))
		})
	}
}

// both concatenates expected attribute writers.
func both(fns ...func(ae *netlink.AttributeEncoder)) func(ae *netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		for _, fn := range fns {
			fn(ae)
		}
	}
}

func TestClientDestinationChanges(t *testing.T) {
	addTo := func(k rules.ServiceKey, d rules.Destination) func(c *Client) (any, error) {
		return none(func(c *Client) error { return c.AddDestination(k, d) })
	}
	a := netip.MustParseAddr
	runClientTests(t, []clientTest{
		{
			name:  "masquerade",
			call:  addTo(tcp4, rules.Destination{Addr: a("192.168.1.10"), Port: 8080, Forward: rules.Masquerade, Weight: 1}),
			cmd:   cmdNewDest,
			flags: change,
			attrs: both(svcKeyNest(tcp4), destNest(2, "192.168.1.10", 8080, 0, 1, 0, 0, 0, 0, 0)),
		},
		{
			name:  "local",
			call:  addTo(tcp4, rules.Destination{Addr: a("127.0.0.1"), Port: 80, Forward: rules.Local, Weight: 1}),
			cmd:   cmdNewDest,
			flags: change,
			attrs: both(svcKeyNest(tcp4), destNest(2, "127.0.0.1", 80, 1, 1, 0, 0, 0, 0, 0)),
		},
		{
			name: "route with thresholds",
			call: addTo(sctp4, rules.Destination{Addr: a("192.0.2.20"), Port: 3868, Forward: rules.Route, Weight: 5,
				UpperThreshold: 100, LowerThreshold: 10}),
			cmd:   cmdNewDest,
			flags: change,
			attrs: both(svcKeyNest(sctp4), destNest(2, "192.0.2.20", 3868, 3, 5, 100, 10, 0, 0, 0)),
		},
		{
			name:  "tunnel ipip",
			call:  addTo(tcp4, rules.Destination{Addr: a("198.51.100.1"), Port: 80, Forward: rules.Tunnel, Weight: 2}),
			cmd:   cmdNewDest,
			flags: change,
			attrs: both(svcKeyNest(tcp4), destNest(2, "198.51.100.1", 80, 2, 2, 0, 0, 0, 0, 0)),
		},
		{
			// TUN_PORT is big-endian like every port; TUN_FLAGS host order.
			name: "tunnel gue with checksums",
			call: addTo(tcp4, rules.Destination{Addr: a("198.51.100.2"), Port: 80, Forward: rules.Tunnel, Weight: 1,
				TunnelType: rules.TunnelGUE, TunnelPort: 6080, TunnelFlags: rules.TunnelChecksum | rules.TunnelRemoteChecksum}),
			cmd:   cmdNewDest,
			flags: change,
			attrs: both(svcKeyNest(tcp4), destNest(2, "198.51.100.2", 80, 2, 1, 0, 0, 1, 6080, 3)),
		},
		{
			name: "tunnel gre v6",
			call: addTo(udp6, rules.Destination{Addr: a("2001:db8::20"), Port: 53, Forward: rules.Tunnel, Weight: 1,
				TunnelType: rules.TunnelGRE, TunnelFlags: rules.TunnelChecksum}),
			cmd:   cmdNewDest,
			flags: change,
			attrs: both(svcKeyNest(udp6), destNest(10, "2001:db8::20", 53, 2, 1, 0, 0, 2, 0, 1)),
		},
		{
			// A v4 service may tunnel to a v6 real server; ADDR_FAMILY
			// then differs from the service's AF.
			name: "mixed family tunnel",
			call: addTo(tcp4, rules.Destination{Family: rules.IPv6, Addr: a("2001:db8::30"), Port: 80,
				Forward: rules.Tunnel, Weight: 1}),
			cmd:   cmdNewDest,
			flags: change,
			attrs: both(svcKeyNest(tcp4), destNest(10, "2001:db8::30", 80, 2, 1, 0, 0, 0, 0, 0)),
		},
		{
			// The kernel refuses negative weights with ERANGE; the client
			// passes the two's-complement bits through unchanged.
			name:  "negative weight",
			call:  addTo(tcp4, rules.Destination{Addr: a("192.168.1.11"), Port: 80, Forward: rules.Route, Weight: -1}),
			cmd:   cmdNewDest,
			flags: change,
			attrs: both(svcKeyNest(tcp4), destNest(2, "192.168.1.11", 80, 3, 0xffffffff, 0, 0, 0, 0, 0)),
		},
		{
			name:  "4-in-6 real server of a v6 service",
			call:  addTo(udp6, rules.Destination{Addr: a("::ffff:192.168.1.1"), Port: 53, Forward: rules.Masquerade, Weight: 1}),
			cmd:   cmdNewDest,
			flags: change,
			attrs: both(svcKeyNest(udp6), destNest(10, "::ffff:192.168.1.1", 53, 0, 1, 0, 0, 0, 0, 0)),
		},
		{
			name:  "fwmark v4 service",
			call:  addTo(fwm4, rules.Destination{Addr: a("192.168.1.12"), Port: 0, Forward: rules.Route, Weight: 3}),
			cmd:   cmdNewDest,
			flags: change,
			attrs: both(svcKeyNest(fwm4), destNest(2, "192.168.1.12", 0, 3, 3, 0, 0, 0, 0, 0)),
		},
		{
			name:  "fwmark v6 service",
			call:  addTo(fwm6, rules.Destination{Addr: a("2001:db8::40"), Port: 443, Forward: rules.Masquerade, Weight: 1}),
			cmd:   cmdNewDest,
			flags: change,
			attrs: both(svcKeyNest(fwm6), destNest(10, "2001:db8::40", 443, 0, 1, 0, 0, 0, 0, 0)),
		},
		{
			name: "update",
			call: none(func(c *Client) error {
				return c.UpdateDestination(tcp4, rules.Destination{Addr: a("192.168.1.10"), Port: 8080,
					Forward: rules.Route, Weight: 0, UpperThreshold: 50, LowerThreshold: 5})
			}),
			cmd:   cmdSetDest,
			flags: change,
			attrs: both(svcKeyNest(tcp4), destNest(2, "192.168.1.10", 8080, 3, 0, 50, 5, 0, 0, 0)),
		},
		{
			name: "update tunnel gue",
			call: none(func(c *Client) error {
				return c.UpdateDestination(udp6, rules.Destination{Addr: a("2001:db8::20"), Port: 53,
					Forward: rules.Tunnel, Weight: 7, TunnelType: rules.TunnelGUE, TunnelPort: 5555})
			}),
			cmd:   cmdSetDest,
			flags: change,
			attrs: both(svcKeyNest(udp6), destNest(10, "2001:db8::20", 53, 2, 7, 0, 0, 1, 5555, 0)),
		},
		{
			// DEL_DEST needs only the real server's identity.
			name: "delete",
			call: none(func(c *Client) error {
				return c.DeleteDestination(tcp4, rules.Destination{Addr: a("192.168.1.10"), Port: 8080, Weight: 9})
			}),
			cmd:   cmdDelDest,
			flags: change,
			attrs: both(svcKeyNest(tcp4), func(ae *netlink.AttributeEncoder) {
				nest(ae, cmdAttrDest, func(ae *netlink.AttributeEncoder) {
					ae.Bytes(destAttrAddrFamily, nlenc.Uint16Bytes(2))
					ae.Bytes(destAttrAddr, inetAddr("192.168.1.10"))
					ae.Bytes(destAttrPort, nbo16(8080))
				})
			}),
		},
		{
			name: "delete mixed family",
			call: none(func(c *Client) error {
				return c.DeleteDestination(tcp4, rules.Destination{Family: rules.IPv6, Addr: a("2001:db8::30"), Port: 80})
			}),
			cmd:   cmdDelDest,
			flags: change,
			attrs: both(svcKeyNest(tcp4), func(ae *netlink.AttributeEncoder) {
				nest(ae, cmdAttrDest, func(ae *netlink.AttributeEncoder) {
					ae.Bytes(destAttrAddrFamily, nlenc.Uint16Bytes(10))
					ae.Bytes(destAttrAddr, inetAddr("2001:db8::30"))
					ae.Bytes(destAttrPort, nbo16(80))
				})
			}),
		},
		{
			name:  "list",
			call:  func(c *Client) (any, error) { return c.Destinations(tcp4) },
			cmd:   cmdGetDest,
			flags: list,
			attrs: svcKeyNest(tcp4),
			replies: []genetlink.Message{reply(t, cmdNewDest, func(ae *netlink.AttributeEncoder) {
				nest(ae, cmdAttrDest, func(ae *netlink.AttributeEncoder) {
					ae.Bytes(destAttrAddrFamily, nlenc.Uint16Bytes(2))
					ae.Bytes(destAttrAddr, inetAddr("192.168.1.10"))
					ae.Bytes(destAttrPort, nbo16(8080))
					ae.Bytes(destAttrFwdMethod, nlenc.Uint32Bytes(3))
					ae.Bytes(destAttrWeight, nlenc.Uint32Bytes(1))
				})
			})},
			want: []rules.Destination{{Family: rules.IPv4, Addr: a("192.168.1.10"), Port: 8080, Forward: rules.Route, Weight: 1}},
		},
		{
			name:  "list fwmark",
			call:  func(c *Client) (any, error) { return c.Destinations(fwm4) },
			cmd:   cmdGetDest,
			flags: list,
			attrs: svcKeyNest(fwm4),
			want:  []rules.Destination(nil),
		},
	})
}

// daemonNest writes a DAEMON nest; fn adds the optional attributes.
func daemonNest(state uint32, ifn string, syncID uint32, fn func(ae *netlink.AttributeEncoder)) func(ae *netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		nest(ae, cmdAttrDaemon, func(ae *netlink.AttributeEncoder) {
			ae.Bytes(daemonAttrState, nlenc.Uint32Bytes(state))
			ae.Bytes(daemonAttrMcastIfn, append([]byte(ifn), 0))
			ae.Bytes(daemonAttrSyncID, nlenc.Uint32Bytes(syncID))
			if fn != nil {
				fn(ae)
			}
		})
	}
}

func TestClientDaemons(t *testing.T) {
	start := func(d rules.Daemon) func(c *Client) (any, error) {
		return none(func(c *Client) error { return c.StartDaemon(d) })
	}
	runClientTests(t, []clientTest{
		{
			// Optional fields left zero are not sent: the kernel picks
			// its defaults (group 224.0.0.81, port 8848, TTL 1).
			name:  "start master minimal",
			call:  start(rules.Daemon{State: rules.Master, Interface: "eth0"}),
			cmd:   cmdNewDaemon,
			flags: change,
			attrs: daemonNest(1, "eth0", 0, nil),
		},
		{
			// MCAST_GROUP is network order but MCAST_PORT host order.
			name: "start backup v4 group",
			call: start(rules.Daemon{State: rules.Backup, Interface: "eth1", SyncID: 7, SyncMaxLen: 1472,
				Group: netip.MustParseAddr("239.1.2.3"), Port: 8849, TTL: 3}),
			cmd:   cmdNewDaemon,
			flags: change,
			attrs: daemonNest(2, "eth1", 7, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(daemonAttrSyncMaxLen, nlenc.Uint16Bytes(1472))
				ae.Bytes(daemonAttrMcastGroup, []byte{239, 1, 2, 3})
				ae.Bytes(daemonAttrMcastPort, nlenc.Uint16Bytes(8849))
				ae.Bytes(daemonAttrMcastTTL, []byte{3})
			}),
		},
		{
			name: "start master v6 group",
			call: start(rules.Daemon{State: rules.Master, Interface: "eth0", SyncID: 1,
				Group: netip.MustParseAddr("ff02::81")}),
			cmd:   cmdNewDaemon,
			flags: change,
			attrs: daemonNest(1, "eth0", 1, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(daemonAttrMcastGrp6, inetAddr("ff02::81"))
			}),
		},
		{
			// A mapped group is a 16-byte MCAST_GROUP6.
			name: "start 4-in-6 group",
			call: start(rules.Daemon{State: rules.Master, Interface: "eth0",
				Group: netip.MustParseAddr("::ffff:239.1.1.1")}),
			cmd:   cmdNewDaemon,
			flags: change,
			attrs: daemonNest(1, "eth0", 0, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(daemonAttrMcastGrp6, inetAddr("::ffff:239.1.1.1"))
			}),
		},
		{
			name:  "start only port",
			call:  start(rules.Daemon{State: rules.Master, Interface: "bond0", Port: 9000}),
			cmd:   cmdNewDaemon,
			flags: change,
			attrs: daemonNest(1, "bond0", 0, func(ae *netlink.AttributeEncoder) {
				ae.Bytes(daemonAttrMcastPort, nlenc.Uint16Bytes(9000))
			}),
		},
		{
			name:  "stop backup",
			call:  none(func(c *Client) error { return c.StopDaemon(rules.Backup) }),
			cmd:   cmdDelDaemon,
			flags: change,
			attrs: func(ae *netlink.AttributeEncoder) {
				nest(ae, cmdAttrDaemon, func(ae *netlink.AttributeEncoder) {
					ae.Bytes(daemonAttrState, nlenc.Uint32Bytes(2))
				})
			},
		},
		{
			name:  "list",
			call:  func(c *Client) (any, error) { return c.Daemons() },
			cmd:   cmdGetDaemon,
			flags: list,
			replies: []genetlink.Message{
				reply(t, cmdNewDaemon, daemonNest(1, "eth0", 5, func(ae *netlink.AttributeEncoder) {
					ae.Bytes(daemonAttrSyncMaxLen, nlenc.Uint16Bytes(1472))
					ae.Bytes(daemonAttrMcastPort, nlenc.Uint16Bytes(8848))
					ae.Bytes(daemonAttrMcastTTL, []byte{1})
					ae.Bytes(daemonAttrMcastGroup, []byte{224, 0, 0, 81})
				})),
				reply(t, cmdNewDaemon, daemonNest(2, "eth1", 6, func(ae *netlink.AttributeEncoder) {
					ae.Bytes(daemonAttrSyncMaxLen, nlenc.Uint16Bytes(1400))
					ae.Bytes(daemonAttrMcastPort, nlenc.Uint16Bytes(9000))
					ae.Bytes(daemonAttrMcastTTL, []byte{4})
					ae.Bytes(daemonAttrMcastGrp6, inetAddr("ff05::81"))
				})),
			},
			want: []rules.Daemon{
				{State: rules.Master, Interface: "eth0", SyncID: 5, SyncMaxLen: 1472,
					Group: netip.MustParseAddr("224.0.0.81"), Port: 8848, TTL: 1},
				{State: rules.Backup, Interface: "eth1", SyncID: 6, SyncMaxLen: 1400,
					Group: netip.MustParseAddr("ff05::81"), Port: 9000, TTL: 4},
			},
		},
	})
}

// TestClientAddServiceGolden pins the exact request bytes of the reference
// example (kernel-ipvs-reference.md §1.9), ids and padding included. The
// host-order fields there are little-endian, so the comparison only holds
// on little-endian machines; elsewhere the attribute tests above suffice.
func TestClientAddServiceGolden(t *testing.T) {
	golden := []byte{
		0x54, 0x00, 0x01, 0x80, // SERVICE, nested
		0x06, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, // AF = 2
		0x06, 0x00, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, // PROTOCOL = 6
		0x14, 0x00, 0x03, 0x00, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ADDR
		0x06, 0x00, 0x04, 0x00, 0x00, 0x50, 0x00, 0x00, // PORT = 80, big-endian
		0x08, 0x00, 0x06, 0x00, 'w', 'l', 'c', 0x00, // SCHED_NAME
		0x0c, 0x00, 0x07, 0x00, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, // FLAGS {0, ~0}
		0x08, 0x00, 0x08, 0x00, 0, 0, 0, 0, // TIMEOUT
		0x08, 0x00, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff, // NETMASK
	}
	var got []byte
	c := dial(t, func(greq genetlink.Message, nreq netlink.Message) []genetlink.Message {
		require.Equal(t, change, nreq.Header.Flags)
		require.Equal(t, genetlink.Header{Command: 1, Version: 1}, greq.Header)
		got = greq.Data
		return nil
	})
	require.NoError(t, c.AddService(rules.Service{ServiceKey: tcp4, Scheduler: "wlc", Netmask: 0xffffffff}))
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		require.Equal(t, golden, got)
	} else {
		require.Len(t, got, len(golden))
	}
}

func TestClientDumps(t *testing.T) {
	a := netip.MustParseAddr
	svc := func(fn func(ae *netlink.AttributeEncoder)) genetlink.Message {
		return reply(t, cmdNewService, func(ae *netlink.AttributeEncoder) { nest(ae, cmdAttrService, fn) })
	}
	dest := func(fn func(ae *netlink.AttributeEncoder)) genetlink.Message {
		return reply(t, cmdNewDest, func(ae *netlink.AttributeEncoder) { nest(ae, cmdAttrDest, fn) })
	}
	tests := []struct {
		name    string
		call    func(c *Client) (any, error)
		replies []genetlink.Message
		want    any
	}{
		{
			name: "services",
			call: func(c *Client) (any, error) { return c.Services() },
			replies: []genetlink.Message{
				svc(func(ae *netlink.AttributeEncoder) {
					keyAttrs(tcp4)(ae)
					ae.Bytes(svcAttrSchedName, []byte("wlc\x00"))
					ae.Bytes(svcAttrFlags, svcFlags(0x2))
					ae.Bytes(svcAttrTimeout, nlenc.Uint32Bytes(0))
					ae.Bytes(svcAttrNetmask, mask4("255.255.255.255"))
					// STATS: u32 counters and rates, u64 bytes.
					nest(ae, svcAttrStats, stats32(rules.Stats{Conns: 10, InPkts: 20, OutPkts: 30,
						InBytes: 5 << 32, OutBytes: 6 << 32, CPS: 1, InPPS: 2, OutPPS: 3, InBPS: 4, OutBPS: 5}))
					nest(ae, svcAttrStats64, stats64(rules.Stats{Conns: 10 << 32, InPkts: 20 << 32, OutPkts: 30 << 32,
						InBytes: 5 << 32, OutBytes: 6 << 32, CPS: 1 << 32, InPPS: 2, OutPPS: 3, InBPS: 4, OutBPS: 5 << 32}))
				}),
				svc(func(ae *netlink.AttributeEncoder) {
					keyAttrs(udp6)(ae)
					ae.Bytes(svcAttrSchedName, []byte("sh\x00"))
					ae.Bytes(svcAttrFlags, svcFlags(0x2|0x1|0x8|0x10))
					ae.Bytes(svcAttrTimeout, nlenc.Uint32Bytes(600))
					ae.Bytes(svcAttrNetmask, plen6(48))
					ae.Bytes(svcAttrPEName, []byte("sip\x00"))
				}),
				// fwmark services carry neither PROTOCOL nor ADDR nor PORT.
				svc(func(ae *netlink.AttributeEncoder) {
					ae.Bytes(svcAttrAF, nlenc.Uint16Bytes(2))
					ae.Bytes(svcAttrFWMark, nlenc.Uint32Bytes(7))
					ae.Bytes(svcAttrSchedName, []byte("none\x00"))
					ae.Bytes(svcAttrFlags, svcFlags(0x2))
					ae.Bytes(svcAttrTimeout, nlenc.Uint32Bytes(0))
					ae.Bytes(svcAttrNetmask, mask4("255.255.255.255"))
				}),
				svc(func(ae *netlink.AttributeEncoder) {
					ae.Bytes(svcAttrAF, nlenc.Uint16Bytes(10))
					ae.Bytes(svcAttrFWMark, nlenc.Uint32Bytes(8))
					ae.Bytes(svcAttrSchedName, []byte("rr\x00"))
					ae.Bytes(svcAttrFlags, svcFlags(0x2|0x1))
					ae.Bytes(svcAttrTimeout, nlenc.Uint32Bytes(30))
					ae.Bytes(svcAttrNetmask, plen6(128))
				}),
			},
			want: []rules.Service{
				{ServiceKey: tcp4, Scheduler: "wlc", Netmask: 0xffffffff,
					ServiceCounters: rules.ServiceCounters{
						Stats: rules.Stats{Conns: 10, InPkts: 20, OutPkts: 30,
							InBytes: 5 << 32, OutBytes: 6 << 32, CPS: 1, InPPS: 2, OutPPS: 3, InBPS: 4, OutBPS: 5},
						Stats64: rules.Stats{Conns: 10 << 32, InPkts: 20 << 32, OutPkts: 30 << 32,
							InBytes: 5 << 32, OutBytes: 6 << 32, CPS: 1 << 32, InPPS: 2, OutPPS: 3, InBPS: 4, OutBPS: 5 << 32}}},
				{ServiceKey: udp6, Scheduler: "sh", Flags: rules.FlagPersistent | rules.FlagSched1 | rules.FlagSched2,
					Timeout: 600, Netmask: 48, PE: "sip"},
				{ServiceKey: rules.ServiceKey{Family: rules.IPv4, FWMark: 7}, Scheduler: "none", Netmask: 0xffffffff},
				{ServiceKey: rules.ServiceKey{Family: rules.IPv6, FWMark: 8}, Scheduler: "rr", Flags: rules.FlagPersistent,
					Timeout: 30, Netmask: 128},
			},
		},
		{
			name: "destinations",
			call: func(c *Client) (any, error) { return c.Destinations(tcp4) },
			replies: []genetlink.Message{
				dest(func(ae *netlink.AttributeEncoder) {
					ae.Bytes(destAttrAddr, inetAddr("192.168.1.10"))
					ae.Bytes(destAttrPort, nbo16(8080))
					ae.Bytes(destAttrFwdMethod, nlenc.Uint32Bytes(0))
					ae.Bytes(destAttrWeight, nlenc.Uint32Bytes(1))
					ae.Bytes(destAttrUThresh, nlenc.Uint32Bytes(0))
					ae.Bytes(destAttrLThresh, nlenc.Uint32Bytes(0))
					ae.Bytes(destAttrActiveConns, nlenc.Uint32Bytes(12))
					ae.Bytes(destAttrInactConns, nlenc.Uint32Bytes(34))
					ae.Bytes(destAttrPersistConns, nlenc.Uint32Bytes(56))
					nest(ae, destAttrStats, stats32(rules.Stats{Conns: 1, InBytes: 1 << 35}))
					ae.Bytes(destAttrAddrFamily, nlenc.Uint16Bytes(2))
					nest(ae, destAttrStats64, stats64(rules.Stats{Conns: 1, InBytes: 1 << 35}))
					ae.Bytes(destAttrTunType, []byte{0})
					ae.Bytes(destAttrTunPort, nbo16(0))
					ae.Bytes(destAttrTunFlags, nlenc.Uint16Bytes(0))
				}),
				// A v6 tunnel real server of the v4 service.
				dest(func(ae *netlink.AttributeEncoder) {
					ae.Bytes(destAttrAddrFamily, nlenc.Uint16Bytes(10))
					ae.Bytes(destAttrAddr, inetAddr("2001:db8::30"))
					ae.Bytes(destAttrPort, nbo16(80))
					ae.Bytes(destAttrFwdMethod, nlenc.Uint32Bytes(2))
					ae.Bytes(destAttrWeight, nlenc.Uint32Bytes(3))
					ae.Bytes(destAttrTunType, []byte{1})
					ae.Bytes(destAttrTunPort, nbo16(6080))
					ae.Bytes(destAttrTunFlags, nlenc.Uint16Bytes(2))
				}),
				// Kernels before 3.18 send no ADDR_FAMILY: the
				// service's applies.
				dest(func(ae *netlink.AttributeEncoder) {
					ae.Bytes(destAttrAddr, inetAddr("192.168.1.11"))
					ae.Bytes(destAttrPort, nbo16(80))
					// Bits above the forwarding mask are dropped.
					ae.Bytes(destAttrFwdMethod, nlenc.Uint32Bytes(0x100|3))
					ae.Bytes(destAttrWeight, nlenc.Uint32Bytes(0))
					ae.Bytes(destAttrUThresh, nlenc.Uint32Bytes(100))
					ae.Bytes(destAttrLThresh, nlenc.Uint32Bytes(10))
				}),
			},
			want: []rules.Destination{
				{Family: rules.IPv4, Addr: a("192.168.1.10"), Port: 8080, Forward: rules.Masquerade, Weight: 1,
					DestinationCounters: rules.DestinationCounters{ActiveConns: 12, InactiveConns: 34, PersistentConns: 56,
						Stats: rules.Stats{Conns: 1, InBytes: 1 << 35}, Stats64: rules.Stats{Conns: 1, InBytes: 1 << 35}}},
				{Family: rules.IPv6, Addr: a("2001:db8::30"), Port: 80, Forward: rules.Tunnel, Weight: 3,
					TunnelType: rules.TunnelGUE, TunnelPort: 6080, TunnelFlags: rules.TunnelRemoteChecksum},
				{Family: rules.IPv4, Addr: a("192.168.1.11"), Port: 80, Forward: rules.Route,
					UpperThreshold: 100, LowerThreshold: 10},
			},
		},
		{
			name: "daemons",
			call: func(c *Client) (any, error) { return c.Daemons() },
			replies: []genetlink.Message{
				reply(t, cmdNewDaemon, daemonNest(1, "eth0", 1, nil)),
				reply(t, cmdNewDaemon, daemonNest(2, "eth0", 2, nil)),
			},
			want: []rules.Daemon{
				{State: rules.Master, Interface: "eth0", SyncID: 1},
				{State: rules.Backup, Interface: "eth0", SyncID: 2},
			},
		},
		// An empty dump is only NLMSG_DONE: a nil slice and no error.
		{name: "no services", call: func(c *Client) (any, error) { return c.Services() }, want: []rules.Service(nil)},
		{name: "no destinations", call: func(c *Client) (any, error) { return c.Destinations(udp6) }, want: []rules.Destination(nil)},
		{name: "no daemons", call: func(c *Client) (any, error) { return c.Daemons() }, want: []rules.Daemon(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialRaw(t, func(genetlink.Message, netlink.Message) []netlink.Message {
				return multipart(t, tt.replies)
			})
			got, err := tt.call(c)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestClientLocalChecks covers requests the client refuses itself: the
// kernel would misread them (a v6 address under AF_INET is silently cut to
// its first four bytes) or reject them without saying why.
func TestClientLocalChecks(t *testing.T) {
	a := netip.MustParseAddr
	long := "abcdefghijklmnop" // 16 bytes: no room for the NUL
	tests := []struct {
		name string
		op   Op
		call func(c *Client) error
		is   error
	}{
		{"v6 address, v4 family", OpAddService, func(c *Client) error {
			return c.AddService(rules.Service{ServiceKey: rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP,
				Addr: a("2001:db8::1"), Port: 80}, Scheduler: "rr"})
		}, errFamilyMismatch},
		{"4-in-6 address, v4 family", OpService, func(c *Client) error {
			_, err := c.Service(rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: a("::ffff:10.0.0.1"), Port: 80})
			return err
		}, errFamilyMismatch},
		{"4-in-6 destination, v4 service", OpAddDestination, func(c *Client) error {
			return c.AddDestination(tcp4, rules.Destination{Addr: a("::ffff:192.168.1.1"), Port: 53})
		}, errFamilyMismatch},
		{"v4 address, v6 family", OpDeleteService, func(c *Client) error {
			return c.DeleteService(rules.ServiceKey{Family: rules.IPv6, Protocol: rules.TCP, Addr: a("10.0.0.1"), Port: 80})
		}, errFamilyMismatch},
		{"no address", OpZero, func(c *Client) error {
			return c.ZeroService(rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Port: 80})
		}, errFamilyMismatch},
		{"unknown family", OpDestinations, func(c *Client) error {
			_, err := c.Destinations(rules.ServiceKey{Family: 3, Protocol: rules.TCP, Addr: a("10.0.0.1"), Port: 80})
			return err
		}, errBadFamily},
		{"fwmark without family", OpUpdateService, func(c *Client) error {
			return c.UpdateService(rules.Service{ServiceKey: rules.ServiceKey{FWMark: 1}, Scheduler: "rr"})
		}, errBadFamily},
		{"v6 destination, v4 service, no family", OpUpdateDestination, func(c *Client) error {
			return c.UpdateDestination(tcp4, rules.Destination{Addr: a("2001:db8::1"), Port: 80})
		}, errFamilyMismatch},
		{"destination family mismatch", OpDeleteDestination, func(c *Client) error {
			return c.DeleteDestination(tcp4, rules.Destination{Family: rules.IPv6, Addr: a("192.168.1.1"), Port: 80})
		}, errFamilyMismatch},
		{"bad service key on destination", OpAddDestination, func(c *Client) error {
			return c.AddDestination(rules.ServiceKey{Family: rules.IPv4, Protocol: rules.TCP, Addr: a("2001:db8::1")},
				rules.Destination{Addr: a("192.168.1.1"), Port: 80})
		}, errFamilyMismatch},
		{"scheduler 16 bytes", OpAddService, func(c *Client) error {
			return c.AddService(rules.Service{ServiceKey: tcp4, Scheduler: long})
		}, errNameTooLong},
		{"PE 17 bytes", OpUpdateService, func(c *Client) error {
			return c.UpdateService(rules.Service{ServiceKey: tcp4, Scheduler: "rr", PE: long + "x"})
		}, errNameTooLong},
		{"interface 16 bytes", OpStartDaemon, func(c *Client) error {
			return c.StartDaemon(rules.Daemon{State: rules.Master, Interface: long})
		}, errNameTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requests := 0
			c := dial(t, func(genetlink.Message, netlink.Message) []genetlink.Message {
				requests++
				return nil
			})
			err := tt.call(c)
			require.Zero(t, requests, "nothing may be sent")
			require.ErrorIs(t, err, tt.is)
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tt.op, e.Op)
			require.Zero(t, Errno(err), "a local error has no errno")
		})
	}

	// The longest names that fit are sent.
	t.Run("15-byte names", func(t *testing.T) {
		requests := 0
		c := dial(t, func(genetlink.Message, netlink.Message) []genetlink.Message {
			requests++
			return nil
		})
		require.NoError(t, c.AddService(rules.Service{ServiceKey: tcp4, Scheduler: long[:15], PE: long[:15]}))
		require.NoError(t, c.StartDaemon(rules.Daemon{State: rules.Master, Interface: long[:15]}))
		require.Equal(t, 2, requests)
	})
}

// TestClientReplyCount checks that a get answered with other than one
// message of the expected command fails instead of panicking or inventing
// a zero value. (A get's first reply ends its exchange, as the kernel
// sends exactly one; a second is then stale, see TestClientStaleReplies.)
func TestClientReplyCount(t *testing.T) {
	info := reply(t, cmdSetInfo, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(infoAttrVersion, nlenc.Uint32Bytes(0x010201))
	})
	tests := []struct {
		name    string
		op      Op
		call    func(c *Client) error
		replies []genetlink.Message
	}{
		{"info, none", OpInfo, func(c *Client) error { _, err := c.Info(); return err }, nil},
		{"service, none", OpService, func(c *Client) error { _, err := c.Service(tcp4); return err }, nil},
		// A reply of the wrong command does not count.
		{"timeouts, wrong command", OpTimeouts, func(c *Client) error { _, err := c.Timeouts(); return err },
			[]genetlink.Message{info}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// No reply at all: the kernel's handler sent none and
			// acknowledged the request.
			c := dialRaw(t, func(_ genetlink.Message, nreq netlink.Message) []netlink.Message {
				return append(plain(t, tt.replies), nlAck(t, nreq, 0))
			})
			err := tt.call(c)
			require.ErrorIs(t, err, errMalformed)
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tt.op, e.Op)
		})
	}
}

// TestClientMalformedReply checks that a reply that does not decode is an
// *Error of the operation, for each decoding method.
func TestClientMalformedReply(t *testing.T) {
	// A SERVICE nest whose port is three bytes long.
	badSvc := reply(t, cmdNewService, func(ae *netlink.AttributeEncoder) {
		nest(ae, cmdAttrService, func(ae *netlink.AttributeEncoder) {
			ae.Bytes(svcAttrAF, nlenc.Uint16Bytes(2))
			ae.Bytes(svcAttrPort, []byte{0, 80, 0})
		})
	})
	badDest := reply(t, cmdNewDest, func(ae *netlink.AttributeEncoder) {
		nest(ae, cmdAttrDest, func(ae *netlink.AttributeEncoder) {
			ae.Bytes(destAttrAddr, make([]byte, 17))
		})
	})
	badDaemon := reply(t, cmdNewDaemon, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(cmdAttrService, nil) // no DAEMON nest at all
	})
	badInfo := reply(t, cmdSetInfo, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(infoAttrVersion, []byte{1, 2})
	})
	badConfig := reply(t, cmdSetConfig, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(cmdAttrTimeoutUDP, []byte{1, 2, 3, 4, 5})
	})
	tests := []struct {
		op    Op
		call  func(c *Client) error
		reply genetlink.Message
	}{
		{OpInfo, func(c *Client) error { _, err := c.Info(); return err }, badInfo},
		{OpTimeouts, func(c *Client) error { _, err := c.Timeouts(); return err }, badConfig},
		{OpService, func(c *Client) error { _, err := c.Service(tcp4); return err }, badSvc},
		{OpServices, func(c *Client) error { _, err := c.Services(); return err }, badSvc},
		{OpDestinations, func(c *Client) error { _, err := c.Destinations(tcp4); return err }, badDest},
		{OpDaemons, func(c *Client) error { _, err := c.Daemons(); return err }, badDaemon},
	}
	for _, tt := range tests {
		t.Run(string(tt.op), func(t *testing.T) {
			c := dial(t, func(genetlink.Message, netlink.Message) []genetlink.Message {
				return []genetlink.Message{tt.reply}
			})
			err := tt.call(c)
			var e *Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, tt.op, e.Op)
			require.Zero(t, Errno(err))
		})
	}
}

// stats32 writes a STATS nest: u32 counters and rates, u64 byte counters.
func stats32(st rules.Stats) func(ae *netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		ae.Bytes(statsAttrConns, nlenc.Uint32Bytes(uint32(st.Conns)))
		ae.Bytes(statsAttrInPkts, nlenc.Uint32Bytes(uint32(st.InPkts)))
		ae.Bytes(statsAttrOutPkts, nlenc.Uint32Bytes(uint32(st.OutPkts)))
		ae.Bytes(statsAttrInBytes, nlenc.Uint64Bytes(st.InBytes))
		ae.Bytes(statsAttrOutBytes, nlenc.Uint64Bytes(st.OutBytes))
		ae.Bytes(statsAttrCPS, nlenc.Uint32Bytes(uint32(st.CPS)))
		ae.Bytes(statsAttrInPPS, nlenc.Uint32Bytes(uint32(st.InPPS)))
		ae.Bytes(statsAttrOutPPS, nlenc.Uint32Bytes(uint32(st.OutPPS)))
		ae.Bytes(statsAttrInBPS, nlenc.Uint32Bytes(uint32(st.InBPS)))
		ae.Bytes(statsAttrOutBPS, nlenc.Uint32Bytes(uint32(st.OutBPS)))
	}
}

// stats64 writes a STATS64 nest: every field u64, with the PAD attribute
// that 8-byte-aligning architectures insert.
func stats64(st rules.Stats) func(ae *netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		for i, v := range []uint64{st.Conns, st.InPkts, st.OutPkts, st.InBytes, st.OutBytes,
			st.CPS, st.InPPS, st.OutPPS, st.InBPS, st.OutBPS} {
			if i == 3 {
				ae.Bytes(statsAttrPad, nil)
			}
			ae.Bytes(uint16(statsAttrConns+i), nlenc.Uint64Bytes(v))
		}
	}
}
