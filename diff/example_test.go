package diff_test

import (
	"os"

	"github.com/visor-dns/visor/diff"
	"github.com/visor-dns/visor/report"
)

// Two small runs: the second has more NXDOMAIN, a new client, and a name
// whose change stays within its list's error (not reported).
func Example() {
	before := &report.Report{}
	before.Summary.DNS.Queries, before.Summary.DNS.Responses = 100, 100
	before.Summary.DNS.Rcodes = map[string]uint64{"NOERROR": 95, "NXDOMAIN": 5}
	before.Summary.DNS.Top.Clients = []report.TopItem{{Name: "198.51.100.1", Estimate: 100}}
	before.Summary.DNS.Top.QName = []report.TopItem{{Name: "www.example", Estimate: 60, Error: 8}}

	after := &report.Report{}
	after.Summary.DNS.Queries, after.Summary.DNS.Responses = 150, 150
	after.Summary.DNS.Rcodes = map[string]uint64{"NOERROR": 96, "NXDOMAIN": 54}
	after.Summary.DNS.Top.Clients = []report.TopItem{{Name: "198.51.100.1", Estimate: 100}, {Name: "198.51.100.9", Estimate: 50}}
	after.Summary.DNS.Top.QName = []report.TopItem{{Name: "www.example", Estimate: 55}}

	d := diff.Compute(diff.Side{Label: "monday.json", Kind: "report", Report: before, Top: 10},
		diff.Side{Label: "tuesday.json", Kind: "report", Report: after, Top: 10}, diff.Options{})
	diff.WriteTable(os.Stdout, d, diff.TableOptions{ASCII: true})
	// Output:
	// BEFORE  monday.json (report, 0 inputs, no time)
	// AFTER   tuesday.json (report, 0 inputs, no time)
	//
	// COUNTERS
	//                before after delta ratio before/s after/s
	// dns.queries       100   150   +50 1.50x
	// dns.responses     100   150   +50 1.50x
	//
	// RCODES (share of responses)
	//           before  share after  share   change
	// NOERROR       95 95.0 %    96 64.0 % -31.0 pp
	// NXDOMAIN       5  5.0 %    54 36.0 % +31.0 pp
	//
	// TOP LISTS (+ appeared, - vanished, ~ changed beyond the error)
	// dns.top.clients: 1 appeared, 0 vanished, 0 changed; 1 within the error
	//   + 198.51.100.9  0 50 +50
	//
	// FINDINGS (+ only after, - only before, = both)
	//   none on either side
}
