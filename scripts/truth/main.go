// Command truth writes the reference ("ground truth") counts visor's tests
// compare against, computed by independent tools (package internal/truth):
//
//	go run ./scripts/truth FILE...
//
// For a capture FILE it writes FILE.truth.json, tshark's DNS counts
// (truth.Tshark has the counting rules); for a FILE.dnstap it writes
// FILE.dnstap-read.json, dnstap-read's message counts (truth.DnstapRead).
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/visor-dns/visor/internal/truth"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/truth FILE...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		if err := write(path); err != nil {
			fmt.Fprintln(os.Stderr, "truth:", err)
			os.Exit(1)
		}
	}
}

func write(path string) error {
	if strings.HasSuffix(path, ".dnstap") {
		t, err := truth.DnstapRead(path)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %d messages (%d queries, %d responses)\n", path+".dnstap-read.json", t.Messages, t.Queries, t.Responses)
		return truth.Write(path+".dnstap-read.json", t)
	}
	t, err := truth.Tshark(path)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d packets, %d DNS messages (%d queries, %d responses, %d xacts)\n",
		path+".truth.json", t.Packets, t.DNS.Messages, t.DNS.Queries, t.DNS.Responses, t.DNS.Xacts.Total)
	return truth.Write(path+".truth.json", t)
}
