package ipvs

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/ipvsadm-go/ipvsadm/internal/rules"
)

// A Config tunes how a Client is opened. The zero value is the calling
// thread's network namespace.
type Config struct {
	// NetNS is an open file descriptor of a network namespace (for
	// example of /run/netns/NAME or /proc/PID/ns/net). The client's socket
	// is created there and so works on that namespace's IPVS tables for
	// its whole life. Zero means the namespace of the calling thread.
	NetNS int
}

// A Client talks to the kernel's IPVS over one generic-netlink socket. It
// is safe for concurrent use; requests are serialised on the socket.
type Client struct {
	conn   *genetlink.Conn
	nl     *netlink.Conn // the same socket, for batched sends; nil in some tests
	family uint16
	// window is how many acknowledged requests a batch may have in
	// flight: what the receive buffer holds with a wide margin.
	window int
}

// Dial opens a client. The error matches ErrNotAvailable when the kernel
// has no IPVS family and ErrPermission when the caller may not use it.
func Dial(cfg *Config) (*Client, error) {
	// A fixed receive buffer spares a peek before every read; dump
	// chunks are at most 32 KiB.
	ncfg := netlink.Config{MessageBufferSize: readBufferSize}
	if cfg != nil {
		ncfg.NetNS = cfg.NetNS
	}
	nl, err := netlink.Dial(unix.NETLINK_GENERIC, &ncfg)
	if err != nil {
		return nil, newError(OpDial, err)
	}
	conn := genetlink.NewConn(nl)
	c, err := newClient(conn)
	if err != nil {
		conn.Close()
		return nil, err
	}
	c.nl = nl
	c.window = windowFor(nl)
	return c, nil
}

// readBufferSize is the size of each read from the socket.
const readBufferSize = 64 << 10

// newClient resolves the IPVS family on an open connection; tests hand it
// a genltest connection.
func newClient(conn *genetlink.Conn) (*Client, error) {
	f, err := conn.GetFamily(familyName)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, &Error{Op: OpDial, Err: errFamilyMissing}
		}
		return nil, newError(OpDial, err)
	}
	// Extended acks add the kernel's reason to policy failures. Older
	// kernels lack the option; the client works without it.
	_ = conn.SetOption(netlink.ExtendedAcknowledge, true)
	// Error acknowledgements without a copy of the request keep batches'
	// acknowledgements small.
	_ = conn.SetOption(netlink.CapAcknowledge, true)
	return &Client{conn: conn, family: f.ID, window: minWindow}, nil
}

// Close releases the socket.
func (c *Client) Close() error { return c.conn.Close() }

// An encoder writes a request's attributes.
type encoder func(*netlink.AttributeEncoder) error

// execute is the one place where requests meet the kernel: it frames the
// request, sends it, gathers the replies and turns failures into *Error.
func (c *Client) execute(op Op, cmd uint8, flags netlink.HeaderFlags, enc encoder) ([]genetlink.Message, error) {
	msg := genetlink.Message{Header: genetlink.Header{Command: cmd, Version: familyVersion}}
	if enc != nil {
		ae := netlink.NewAttributeEncoder()
		if err := enc(ae); err != nil {
			return nil, &Error{Op: op, Err: err}
		}
		b, err := ae.Encode()
		if err != nil {
			return nil, &Error{Op: op, Err: err}
		}
		msg.Data = b
	}
	// NLM_F_REQUEST is not implied by the library, and a message without
	// it is silently ignored by the kernel.
	msgs, err := c.conn.Execute(msg, c.family, netlink.Request|flags)
	if err != nil {
		return nil, newError(op, err)
	}
	return msgs, nil
}

// set runs a command that changes state and answers only with an ack.
func (c *Client) set(op Op, cmd uint8, enc encoder) error {
	_, err := c.execute(op, cmd, netlink.Acknowledge, enc)
	return err
}

// get runs a command that answers with exactly one message of type reply.
func (c *Client) get(op Op, cmd, reply uint8, enc encoder) (genetlink.Message, error) {
	msgs, err := c.execute(op, cmd, 0, enc)
	if err != nil {
		return genetlink.Message{}, err
	}
	msgs = only(msgs, reply)
	if len(msgs) != 1 {
		return genetlink.Message{}, &Error{Op: op, Err: fmt.Errorf("%w: %d replies, want 1", errMalformed, len(msgs))}
	}
	return msgs[0], nil
}

// dump runs a dump command and returns the messages of type reply.
func (c *Client) dump(op Op, cmd, reply uint8, enc encoder) ([]genetlink.Message, error) {
	msgs, err := c.execute(op, cmd, netlink.Dump, enc)
	if err != nil {
		return nil, err
	}
	return only(msgs, reply), nil
}

// only keeps the messages carrying command cmd, dropping acks.
func only(msgs []genetlink.Message, cmd uint8) []genetlink.Message {
	out := msgs[:0]
	for _, m := range msgs {
		if m.Header.Command == cmd {
			out = append(out, m)
		}
	}
	return out
}

// newError wraps a netlink failure, keeping the bare errno as the cause
// and the kernel's extended-ack text, if any.
func newError(op Op, err error) *Error {
	e := &Error{Op: op, Err: err}
	var oe *netlink.OpError
	if errors.As(err, &oe) {
		e.Message = oe.Message
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		e.Err = errno
	}
	return e
}

// Info returns the IPVS version and the connection table size.
func (c *Client) Info() (rules.Info, error) {
	m, err := c.get(OpInfo, cmdGetInfo, cmdSetInfo, nil)
	if err != nil {
		return rules.Info{}, err
	}
	info, err := decodeInfo(m.Data)
	if err != nil {
		return rules.Info{}, &Error{Op: OpInfo, Err: err}
	}
	return info, nil
}

// Services lists every virtual service, in the kernel's (hash) order.
//
// The kernel resumes a dump by position, counting the services of every
// namespace, so a change anywhere between two chunks can repeat an entry;
// repeats are dropped (IPVS never sets NLM_F_DUMP_INTR to say so).
func (c *Client) Services() ([]rules.Service, error) {
	msgs, err := c.dump(OpServices, cmdGetService, cmdNewService, nil)
	if err != nil {
		return nil, err
	}
	svcs := make([]rules.Service, 0, len(msgs))
	seen := make(map[rules.ServiceKey]bool, len(msgs))
	for _, m := range msgs {
		s, err := decodeServiceMessage(m.Data)
		if err != nil {
			return nil, &Error{Op: OpServices, Err: err}
		}
		if seen[s.ServiceKey] {
			continue
		}
		seen[s.ServiceKey] = true
		svcs = append(svcs, s)
	}
	if len(svcs) == 0 {
		return nil, nil
	}
	return svcs, nil
}

// Service returns one virtual service; the error matches ErrNoService if
// it does not exist.
func (c *Client) Service(key rules.ServiceKey) (rules.Service, error) {
	m, err := c.get(OpService, cmdGetService, cmdNewService, encodeServiceKeyAttr(key))
	if err != nil {
		return rules.Service{}, err
	}
	s, err := decodeServiceMessage(m.Data)
	if err != nil {
		return rules.Service{}, &Error{Op: OpService, Err: err}
	}
	return s, nil
}

// AddService creates a virtual service.
func (c *Client) AddService(s rules.Service) error {
	return c.set(OpAddService, cmdNewService, encodeServiceAttr(s))
}

// UpdateService replaces the options of an existing service. Every option
// is sent: an empty PE removes the persistence engine, zero flags clear
// them.
func (c *Client) UpdateService(s rules.Service) error {
	return c.set(OpUpdateService, cmdSetService, encodeServiceAttr(s))
}

// DeleteService removes a virtual service and its real servers.
func (c *Client) DeleteService(key rules.ServiceKey) error {
	return c.set(OpDeleteService, cmdDelService, encodeServiceKeyAttr(key))
}

// Destinations lists the real servers of a service, newest first as the
// kernel keeps them. The kernel answers an unknown service with an empty
// list, not an error.
func (c *Client) Destinations(key rules.ServiceKey) ([]rules.Destination, error) {
	msgs, err := c.dump(OpDestinations, cmdGetDest, cmdNewDest, encodeServiceKeyAttr(key))
	if err != nil {
		return nil, err
	}
	var dests []rules.Destination
	type destKey struct {
		f    rules.Family
		a    netip.Addr
		port uint16
	}
	var seen map[destKey]bool // repeats, as for services; rare
	for _, m := range msgs {
		d, err := decodeDestinationMessage(m.Data, key.Family)
		if err != nil {
			return nil, &Error{Op: OpDestinations, Err: err}
		}
		if len(msgs) > 1 {
			if seen == nil {
				seen = make(map[destKey]bool, len(msgs))
			}
			k := destKey{d.Family, d.Addr, d.Port}
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		dests = append(dests, d)
	}
	return dests, nil
}

// AddDestination adds a real server to a service.
func (c *Client) AddDestination(key rules.ServiceKey, d rules.Destination) error {
	return c.set(OpAddDestination, cmdNewDest, encodeDestinationAttrs(key, d, true))
}

// UpdateDestination replaces a real server's options; tunnel settings not
// given are reset by the kernel.
func (c *Client) UpdateDestination(key rules.ServiceKey, d rules.Destination) error {
	return c.set(OpUpdateDestination, cmdSetDest, encodeDestinationAttrs(key, d, true))
}

// DeleteDestination removes a real server, identified by family, address
// and port.
func (c *Client) DeleteDestination(key rules.ServiceKey, d rules.Destination) error {
	return c.set(OpDeleteDestination, cmdDelDest, encodeDestinationAttrs(key, d, false))
}

// ZeroAll zeroes the counters of every service and real server.
func (c *Client) ZeroAll() error { return c.set(OpZero, cmdZero, nil) }

// ZeroService zeroes the counters of one service and its real servers.
func (c *Client) ZeroService(key rules.ServiceKey) error {
	return c.set(OpZero, cmdZero, encodeServiceKeyAttr(key))
}

// Flush removes every virtual service.
func (c *Client) Flush() error { return c.set(OpFlush, cmdFlush, nil) }

// Timeouts returns the TCP, TCP FIN and UDP timeouts.
func (c *Client) Timeouts() (rules.Timeouts, error) {
	m, err := c.get(OpTimeouts, cmdGetConfig, cmdSetConfig, nil)
	if err != nil {
		return rules.Timeouts{}, err
	}
	t, err := decodeTimeouts(m.Data)
	if err != nil {
		return rules.Timeouts{}, &Error{Op: OpTimeouts, Err: err}
	}
	return t, nil
}

// SetTimeouts sets the timeouts; a zero field keeps its current value.
func (c *Client) SetTimeouts(t rules.Timeouts) error {
	return c.set(OpSetTimeouts, cmdSetConfig, encodeTimeouts(t))
}

// Daemons lists the running sync daemons (master first).
func (c *Client) Daemons() ([]rules.Daemon, error) {
	msgs, err := c.dump(OpDaemons, cmdGetDaemon, cmdNewDaemon, nil)
	if err != nil {
		return nil, err
	}
	var ds []rules.Daemon
	for _, m := range msgs {
		d, err := decodeDaemonMessage(m.Data)
		if err != nil {
			return nil, &Error{Op: OpDaemons, Err: err}
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// StartDaemon starts a sync daemon in d.State's role.
func (c *Client) StartDaemon(d rules.Daemon) error {
	return c.set(OpStartDaemon, cmdNewDaemon, encodeDaemonAttr(d))
}

// StopDaemon stops the sync daemon of the given role.
func (c *Client) StopDaemon(state rules.SyncState) error {
	return c.set(OpStopDaemon, cmdDelDaemon, encodeDaemonStopAttr(state))
}
