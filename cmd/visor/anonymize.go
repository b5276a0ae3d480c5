package main

import "github.com/spf13/pflag"

// addAnonymizeFlags adds --anonymize and --anonymize-prefix, which every
// command that reads traffic takes (docs/anonymize.md).
func (o *analysisOptions) addAnonymizeFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.anonKey, "anonymize", "", "KEYFILE: replace every IP address by its Crypto-PAn pseudonym (prefix-preserving, the same for the same 32-byte key on every run) before anything is counted, carved or exported")
	fs.StringVar(&o.anonPrefix, "anonymize-prefix", "", "V4/V6 (e.g. 24/48): keep only the first bits of every address (after --anonymize's pseudonym, or alone)")
}
