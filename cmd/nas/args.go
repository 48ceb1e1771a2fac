package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// exactArgs returns the argument check of a command that takes one
// positional argument per name, such as "FILE" or "TRIAL". Its errors are
// usage errors that name the missing or extra argument and show the
// command's usage line.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		usage := strings.TrimSuffix(cmd.UseLine(), " [flags]")
		switch {
		case len(args) < len(names):
			return usageErrorf("missing the %s argument (usage: %s)", names[len(args)], usage)
		case len(args) > len(names):
			return usageErrorf("too many arguments: %s takes %d (%s), but got %d: %s (usage: %s)",
				cmd.CommandPath(), len(names), strings.Join(names, " "), len(args), strings.Join(args, " "), usage)
		}
		return nil
	}
}
