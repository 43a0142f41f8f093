package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipvsadm-go/ipvsadm/internal/jsondoc"
	"github.com/ipvsadm-go/ipvsadm/internal/testkit"
)

// predictTable is a service of each kind the tests ask about, built with
// ipvsadm's own commands on the model backend.
func predictTable(t *testing.T) {
	t.Helper()
	withBackend(t, newModelBackend(), nil)
	for _, line := range []string{
		"-A -t 10.9.9.9:80 -s sh",
		"-a -t 10.9.9.9:80 -r 10.0.0.1:80 -m -w 1",
		"-a -t 10.9.9.9:80 -r 10.0.0.2:80 -m -w 2",
		"-A -u [2001:db8::9]:53 -s mh -b mh-port,mh-fallback",
		"-a -u [2001:db8::9]:53 -r [2001:db8:1::1]:53 -m",
		"-a -u [2001:db8::9]:53 -r [2001:db8:1::2]:53 -m",
		"-A -t 10.9.9.9:443 -s wlc",
		"-a -t 10.9.9.9:443 -r 10.0.0.1:443 -m -w 2",
		"-a -t 10.9.9.9:443 -r 10.0.0.2:443 -m -w 1",
		"-A -t 10.9.9.9:8080 -s rr",
		"-a -t 10.9.9.9:8080 -r 10.0.0.1:8080 -m",
		"-A -t 10.9.9.9:81 -s lblc",
	} {
		_, errs, status := runArgs(strings.Fields(line), "")
		require.Equal(t, 0, status, "%s: %s", line, errs)
	}
}

func TestPredictText(t *testing.T) {
	predictTable(t)
	list := filepath.Join(t.TempDir(), "clients")
	require.NoError(t, os.WriteFile(list, []byte("# office\n192.168.1.0/28\n192.168.2.7\n"), 0o644))
	var got strings.Builder
	for _, args := range []string{
		"-L -t 10.9.9.9:80 --predict 192.168.1.10",
		"-L -t 10.9.9.9:80 --predict 192.168.1.10 --without 10.0.0.2:80",
		"-Ln -t 10.9.9.9:80 --predict 192.168.1.0/24",
		"-Ln -t 10.9.9.9:80 --predict 192.168.1.0/24 --without 10.0.0.2",
		"-Ln -t 10.9.9.9:80 --predict 192.168.1.0/24 --without 10.0.0.2 --with 10.0.0.3:80=1",
		"-Ln -t 10.9.9.9:80 --predict @" + list + " --with 10.0.0.2=0",
		"-Ln -t 10.9.9.9:80 --predict - --predict 10.1.2.3",
		"-Ln -u [2001:db8::9]:53 --predict [2001:db8:7::/120]:5353 --with [2001:db8:1::1]:53=0",
		"-Ln -u [2001:db8::9]:53 --predict 2001:db8:7::1",
		"-Ln -t 10.9.9.9:443 --predict 192.168.1.0/29",
		"-Ln -t 10.9.9.9:8080 --predict 192.168.1.1",
	} {
		out, errs, status := runArgs(strings.Fields(args), "172.16.0.0/30\n")
		got.WriteString("$ ipvsadm " + strings.Replace(args, list, "FILE", 1) + "\n" + out + errs)
		require.Equal(t, 0, status, "%s: %s", args, errs)
	}
	testkit.Golden(t, "testdata/predict.txt", []byte(got.String()))
}

func TestPredictErrors(t *testing.T) {
	predictTable(t)
	for _, tc := range []struct{ args, msg string }{
		{"-L --predict 1.2.3.4", "--predict asks about one virtual service: use it as -L -t|-u|--sctp-service|-f SERVICE --predict CLIENTS\n"},
		{"-L -t 10.9.9.9:80 --without 10.0.0.1", "--with and --without are what-ifs of --predict\n"},
		{"-L -t 10.9.9.9:80 --predict host", `--predict: "host" is not a client (not a numeric address): give ADDR, ADDR:PORT, PREFIX or PREFIX:PORT[-PORT], IPv6 in brackets with a port, a list as @FILE or - (standard input)` + "\n"},
		{"-L -t 10.9.9.9:80 --predict 1.2.3.4 --with 10.0.0.1", "--with needs a real server and a weight as ADDR[:PORT]=WEIGHT ([ADDR]:PORT=WEIGHT for IPv6), the weight 0 to 2147483647, not `10.0.0.1'\n"},
		{"-L -t 10.9.9.9:80 --predict - --predict -", "--predict -: standard input can be read once\n"},
	} {
		out, errs, status := runArgs(strings.Fields(tc.args), "")
		require.Equal(t, 2, status, tc.args)
		require.Empty(t, out)
		require.Equal(t, tc.msg, errs, tc.args)
	}
	for _, tc := range []struct {
		args, msg string
		status    int
	}{
		// Elsewhere than after -L the options are unknown, as in 1.31.
		{"-A -t 10.9.9.9:80 --predict 1.2.3.4", "--predict: unknown option\n", 255},
		{"-L -t 10.9.9.9:81 --predict 1.2.3.4", "cannot predict: lblc picks from a table of recent destinations that the kernel does not export\n", 1},
		{"-L -t 10.9.9.9:80 --predict 2001:db8::1", "cannot predict: client 2001:db8::1 is not an inet address, as the service is\n", 1},
		{"-L -t 10.9.9.9:80 --predict 1.2.3.4 --without 10.0.0.7", "cannot predict: 10.0.0.7 is not a real server of the service\n", 1},
		{"-L -t 10.9.9.9:80 --predict 0.0.0.0/0", "cannot predict: more than 1048576 clients\n", 1},
		{"-L -t 10.9.9.9:80 --predict @/nonexistent", "--predict: open /nonexistent: no such file or directory\n", 2},
		{"-L -t 10.9.9.8:80 --predict 1.2.3.4", "No such service\n", 1},
	} {
		out, errs, status := runArgs(strings.Fields(tc.args), "")
		require.Equal(t, tc.status, status, tc.args)
		require.Empty(t, out)
		require.Equal(t, tc.msg, errs, tc.args)
	}
}

func TestPredictJSON(t *testing.T) {
	predictTable(t)
	for _, args := range []string{
		"-L -t 10.9.9.9:80 --predict 192.168.1.0/30 --json",
		"-L -t 10.9.9.9:80 --predict 192.168.1.0/30 --without 10.0.0.2 --with 10.0.0.3:80=2 --json --pretty",
		"-L -t 10.9.9.9:443 --predict 192.168.0.0/20 --json",
	} {
		out, errs, status := runArgs(strings.Fields(args), "")
		require.Equal(t, 0, status, "%s: %s", args, errs)
		testkit.ValidateJSON(t, "document", []byte(out))
		var doc jsondoc.Document
		require.NoError(t, json.Unmarshal([]byte(out), &doc))
		require.NotNil(t, doc.Prediction)
		require.Len(t, doc.Services, 1)
		pr := doc.Prediction
		var sum uint64
		for _, s := range pr.RealServers {
			sum += s.Clients
		}
		require.Equal(t, pr.Clients, sum+pr.NoServer.Clients, args)
		if strings.Contains(args, "--with") {
			require.NotNil(t, pr.Moved)
			require.Equal(t, []jsondoc.Endpoint{{Address: "10.0.0.2", Port: 0}}, pr.WhatIf.Without)
			require.True(t, pr.RealServers[2].Added)
		} else {
			require.Nil(t, pr.Moved)
			require.Nil(t, pr.WhatIf)
		}
		if pr.Clients > 4096 {
			require.Nil(t, pr.Assignments)
			require.False(t, pr.Certain)
		} else {
			require.Len(t, pr.Assignments, int(pr.Clients))
		}
	}
	// Every other view has "prediction": null.
	out, _, status := runArgs([]string{"-L", "--json"}, "")
	require.Equal(t, 0, status)
	testkit.ValidateJSON(t, "document", []byte(out))
	require.Contains(t, out, `"prediction":null`)
}
