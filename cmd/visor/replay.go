package main

import (
	"io"

	"github.com/spf13/cobra"
)

func newReplayCommand(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:    "replay",
		Short:  "(not yet available)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError("replay is not available yet")
		},
	}
}
