// Command nas searches MobileNet-style architectures with an LSTM controller
// trained by REINFORCE, on shared supernet weights, with every trial kept in a
// bbolt store.
//
// Results go to stdout (tables for people, --json for scripts); logs and
// progress go to stderr. Exit codes are listed in exitcode.go.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// commandBuilders holds the constructors of the subcommands. Each command file
// adds its constructor from an init function, so adding a command touches only
// its own file.
var commandBuilders []func(*app) *cobra.Command

func registerCommand(build func(*app) *cobra.Command) {
	commandBuilders = append(commandBuilders, build)
}

// app carries what every command shares: its output streams and logger.
type app struct {
	stdout io.Writer
	stderr io.Writer
	logger *slog.Logger

	logLevel string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)

	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCodeOf(err)
	switch {
	case errors.Is(err, errSilent):
	case code == exitInterrupted:
		// The wrapped cancellation chain only repeats where the command
		// was when it stopped, so one line is enough.
		fmt.Fprintln(stderr, "nas: interrupted")
	default:
		fmt.Fprintf(stderr, "nas: %s\n", userMessage(err.Error()))
	}
	return code
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "nas",
		Short: "Neural architecture search for MobileNet-style networks",
		Long: `nas searches MobileNet-style architectures (expansion ratio, kernel size,
depth, width multiplier and resolution) with an LSTM controller trained by
REINFORCE. Children train on shared supernet weights; every trial, reward
and checkpoint is kept in a bbolt store, so a search survives a crash.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
				return usageErrorf("invalid --log-level %q: use debug, info, warn or error", a.logLevel)
			}
			a.logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
			return nil
		},
	}
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "info", "log level on stderr: debug, info, warn or error")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageErrorf("%v (see '%s --help')", err, cmd.CommandPath())
	})
	for _, build := range commandBuilders {
		root.AddCommand(build(a))
	}
	return root
}
