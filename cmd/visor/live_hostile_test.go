package main

import "errors"

// injectFromEnv was the spoofed-packet injector of TestLiveSpoofedTCP,
// which moved with it to the lab tier (internal/lab/scenarios, lab.Inject).
// TestMain's VISOR_TEST_INJECT branch still calls it.
func injectFromEnv() error {
	return errors.New("the packet injector moved to internal/lab (lab.Inject)")
}
