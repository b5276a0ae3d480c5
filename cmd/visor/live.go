package main

import (
	"io"

	"github.com/spf13/cobra"
)

func newLiveCommand(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:    "live",
		Short:  "(not yet available)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError("live is not available yet")
		},
	}
}
