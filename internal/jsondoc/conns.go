package jsondoc

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ipvsadm-go/ipvsadm/internal/render"
)

// ParseConnection parses one line of /proc/net/ip_vs_conn (not the
// header): protocol, client, virtual and real address and port (hex,
// IPv4 as 8 digits, IPv6 in the kernel's colon form), state, expiry in
// seconds and, for persistence-engine connections, the engine's name and
// data. ok is false for a line that is not one.
func ParseConnection(line string) (c Connection, ok bool) {
	f := strings.Fields(line)
	if len(f) < 9 {
		return c, false
	}
	var addrs [3]netip.Addr
	var ports [3]uint16
	for i := range 3 {
		a, okA := procAddr(f[1+2*i])
		p, err := strconv.ParseUint(f[2+2*i], 16, 16)
		if !okA || err != nil {
			return c, false
		}
		addrs[i], ports[i] = a, uint16(p)
	}
	exp, err := strconv.ParseUint(f[8], 10, 64)
	if err != nil {
		return c, false
	}
	c = Connection{
		Protocol: strings.ToLower(f[0]), Template: f[0] == "IP",
		ClientAddress: addrs[0].String(), ClientPort: ports[0],
		VirtualAddress: addrs[1].String(), VirtualPort: ports[1],
		RealAddress: addrs[2].String(), RealPort: ports[2],
		State: f[7], ExpiresInSeconds: exp,
	}
	if len(f) >= 10 {
		c.PersistenceEngine = ptr(f[9])
		data := ""
		if len(f) >= 11 {
			data = f[10]
		}
		c.PersistenceData = ptr(data)
	}
	return c, true
}

// procAddr parses an address as /proc/net/ip_vs_conn prints it.
func procAddr(s string) (netip.Addr, bool) {
	if len(s) == 8 {
		b, err := hex.DecodeString(s)
		if err != nil {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4([4]byte(b)), true
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil && a.Is6()
}

// matches applies f to c.
func matches(f render.ConnFilter, c *Connection) bool {
	v, _ := netip.ParseAddr(c.VirtualAddress)
	r, _ := netip.ParseAddr(c.RealAddress)
	return f.Match(v, c.VirtualPort, r, c.RealPort, c.State)
}

// StreamConnections writes the connections of proc (the text of
// /proc/net/ip_vs_conn) that pass f to w, one compact JSON object per line,
// in the file's order. It returns false for an input without its header
// line. Lines that do not parse are skipped. A read error ends the stream.
func StreamConnections(w io.Writer, proc io.Reader, f render.ConnFilter) (bool, error) {
	sc := bufio.NewScanner(proc)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	if !sc.Scan() {
		return false, nil
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for sc.Scan() {
		c, ok := ParseConnection(sc.Text())
		if !ok || !matches(f, &c) {
			continue
		}
		if err := enc.Encode(&c); err != nil {
			return true, err
		}
	}
	return true, bw.Flush()
}

// CountConnections counts the connections of proc that pass f. ok is false
// for an input without its header line.
func CountConnections(proc io.Reader, f render.ConnFilter) (cc ConnectionCount, ok bool) {
	sc := bufio.NewScanner(proc)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	if !sc.Scan() {
		return cc, false
	}
	cc.ByState, cc.ByProtocol = map[string]uint64{}, map[string]uint64{}
	for sc.Scan() {
		c, ok := ParseConnection(sc.Text())
		if !ok || !matches(f, &c) {
			continue
		}
		cc.Total++
		cc.ByState[c.State]++
		cc.ByProtocol[c.Protocol]++
	}
	return cc, true
}
