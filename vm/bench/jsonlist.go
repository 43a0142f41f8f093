package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// jsonVsText measures ours -Ln --json against ours -Ln (ipvsadm 1.31 has
// no JSON) on the table of namespace ns, of size s: the target is
// a JSON listing no slower than the text one. The document is checked
// first to hold every service and real server of the table.
func (b *runner) jsonVsText(ns int, r *workload, s tableSize) error {
	ours := b.tools[1]
	p := filepath.Join(b.work, "list-json")
	if _, err := b.exec(ns, ours, "", p, "-Ln", "--json"); err != nil {
		return err
	}
	doc, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	// Counting keys is enough here (the tests validate the documents);
	// decoding 20 MB under emulation would cost more than the listing.
	svcs := bytes.Count(doc, []byte(`"scheduler":`))
	reals := bytes.Count(doc, []byte(`"forwarding":`))
	if !bytes.HasPrefix(doc, []byte(`{"schema_version":1,`)) || !bytes.HasSuffix(doc, []byte("}\n")) ||
		svcs != s.services || reals != s.services*s.reals {
		return fmt.Errorf("%w: ours -Ln --json of %dx%d: %d bytes, %d services, %d real servers",
			errCorrectness, s.services, s.reals, len(doc), svcs, reals)
	}
	os.Remove(p)
	fmt.Printf("correctness: OK (-Ln --json: %d services, %d real servers, %.1f MB)\n", svcs, reals, float64(len(doc))/1e6)
	if err := b.memoryAs(ns, r, 0, ours, "", "-Ln"); err != nil {
		return err
	}
	if err := b.memoryAs(ns, r, 1, ours, "", "-Ln", "--json"); err != nil {
		return err
	}
	for round := 0; round < s.rounds; round++ {
		for _, i := range toolOrder(round) {
			args := []string{"-Ln"}
			if i == 1 {
				args = append(args, "--json")
			}
			if err := b.timedAs(ns, r, i, ours, round, "", args...); err != nil {
				return err
			}
		}
	}
	return nil
}
