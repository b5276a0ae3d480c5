package analyzers

import "github.com/visor-dns/visor/analyzers/dns"

// TransactionHook hears of a run's DNS transactions as its dns Analyzer
// matches them (Options.Transactions): visor export turns them into
// records. Its calls come from the run's one shard goroutine, in capture
// order; they end when Finish returns.
type TransactionHook interface {
	dns.Hook
	// Packet says that the messages heard next come from this packet
	// (input index, 1-based number within it), or from a TCP message or
	// a datagram it completes.
	Packet(input int, number uint64)
}
