package main

import (
	"io"

	"github.com/spf13/cobra"
)

func newCheckCommand(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:    "check",
		Short:  "(not yet available)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError("check is not available yet")
		},
	}
}
