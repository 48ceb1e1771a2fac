package main

import (
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"nas/searchspace"
)

func init() { registerCommand(newSpaceCmd) }

type spaceOptions struct {
	space   string // built-in name or file path
	input   string // HxWxC, empty for the space's default
	classes int    // 0 for the space's default
	asJSON  bool
}

// spaceReport is the output of `nas space --json`.
type spaceReport struct {
	Name      string                 `json:"name"`
	Input     searchspace.Shape      `json:"input"`
	Classes   int                    `json:"classes"`
	Decisions []searchspace.Decision `json:"decisions"`
	// Size is the number of distinct architectures, an integer of any size.
	Size      *big.Int `json:"size"`
	SizeLog10 float64  `json:"size_log10"`
}

func newSpaceCmd(a *app) *cobra.Command {
	var opts spaceOptions
	cmd := &cobra.Command{
		Use:   "space",
		Short: "List the decisions of a search space and count its architectures",
		Long: `space prints the decisions a controller makes in a search space, in token
order, with their choices, and the number of distinct architectures.

--space takes a built-in name (` + strings.Join(searchspace.BuiltinNames(), ", ") + `)
or a .json, .yaml or .yml file; docs/space-format.md describes the format.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return showSpace(a, opts)
		},
	}
	addSpaceFlags(cmd, &opts)
	cmd.Flags().BoolVar(&opts.asJSON, "json", false, "print as JSON")
	return cmd
}

// addSpaceFlags adds --space, --input and --classes, which every command
// that takes a search space shares.
func addSpaceFlags(cmd *cobra.Command, opts *spaceOptions) {
	cmd.Flags().StringVar(&opts.space, "space", searchspace.SpaceDefault, "search space: a built-in name ("+strings.Join(searchspace.BuiltinNames(), ", ")+") or a .json/.yaml file")
	cmd.Flags().StringVar(&opts.input, "input", "", "image shape HxWxC (default 28x28x1; 224x224x3 for the mobilenet presets; a space file's own input if it has one)")
	cmd.Flags().IntVar(&opts.classes, "classes", 0, "number of classes, at least 2 (0: the space's default, which is 10, 1000 for the mobilenet presets, or a space file's own count)")
}

// spaceArgs returns the --space, --input and --classes flags of opts that
// differ from the defaults, quoted for a command line that a message
// suggests to run next.
func spaceArgs(opts spaceOptions) string {
	var args string
	if opts.space != searchspace.SpaceDefault {
		args += " --space " + shellQuote(opts.space)
	}
	if opts.input != "" {
		args += " --input " + shellQuote(opts.input)
	}
	if opts.classes != 0 {
		args += fmt.Sprintf(" --classes %d", opts.classes)
	}
	return args
}

func showSpace(a *app, opts spaceOptions) error {
	s, err := resolveSpace(opts)
	if err != nil {
		return err
	}
	report := spaceReport{
		Name: s.Name, Input: s.Input, Classes: s.Classes,
		Decisions: s.Decisions(), Size: s.Size(), SizeLog10: s.Log10Size(),
	}
	if report.Decisions == nil {
		report.Decisions = []searchspace.Decision{}
	}

	if opts.asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	noun := "architectures"
	if report.Size.IsInt64() && report.Size.Int64() == 1 {
		noun = "architecture"
	}
	fmt.Fprintf(a.stdout, "space %s: input %s, %d classes, %d decisions, %s %s (10^%.1f)\n",
		report.Name, formatShape(report.Input), report.Classes, len(report.Decisions), report.Size, noun, report.SizeLog10)
	if len(report.Decisions) == 0 {
		return nil
	}
	fmt.Fprintln(a.stdout)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOKEN\tDECISION\tCHOICES")
	for i, d := range report.Decisions {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", i, d.Name, strings.Join(d.Choices, " "))
	}
	return tw.Flush()
}

// resolveSpace returns the validated space that --space, --input and
// --classes select. A built-in name wins over a file of the same name.
func resolveSpace(opts spaceOptions) (searchspace.Space, error) {
	var input *searchspace.Shape
	if opts.input != "" {
		shape, err := parseShape(opts.input)
		if err != nil {
			return searchspace.Space{}, err
		}
		input = &shape
	}
	if opts.classes < 0 {
		return searchspace.Space{}, usageErrorf("invalid --classes %d: use a count of at least 2, or 0 for the space's default", opts.classes)
	}

	// A built-in space or preset.
	if slices.Contains(searchspace.BuiltinNames(), opts.space) {
		shape, classes := searchspace.Shape{Height: 28, Width: 28, Channels: 1}, 10
		if opts.space != searchspace.SpaceDefault {
			shape, classes = searchspace.Shape{Height: 224, Width: 224, Channels: 3}, 1000
		}
		if input != nil {
			shape = *input
		}
		if opts.classes != 0 {
			classes = opts.classes
		}
		s, err := searchspace.BuiltinSpace(opts.space, shape, classes)
		return s, badInput(err)
	}

	// A space file.
	if !isSpaceFileName(opts.space) {
		if _, err := os.Stat(opts.space); err != nil {
			return searchspace.Space{}, inputErrorf("unknown space %q: use a built-in name (%s) or a .json, .yaml or .yml file", opts.space, strings.Join(searchspace.BuiltinNames(), ", "))
		}
	}
	s, err := searchspace.ReadSpaceFile(opts.space)
	if err != nil {
		return searchspace.Space{}, badInput(err)
	}
	if input != nil {
		s.Input = *input
	} else if s.Input == (searchspace.Shape{}) {
		s.Input = searchspace.Shape{Height: 28, Width: 28, Channels: 1}
	}
	if opts.classes != 0 {
		s.Classes = opts.classes
	} else if s.Classes == 0 {
		s.Classes = 10
	}
	if err := s.Validate(); err != nil {
		return searchspace.Space{}, inputErrorf("space file %s: %w", opts.space, err)
	}
	return s, nil
}

func isSpaceFileName(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json", ".yaml", ".yml":
		return true
	}
	return false
}

// parseShape parses HxWxC, such as 28x28x1.
func parseShape(text string) (searchspace.Shape, error) {
	parts := strings.Split(strings.ToLower(text), "x")
	if len(parts) != 3 {
		return searchspace.Shape{}, usageErrorf("invalid --input %q: use height x width x channels, such as 28x28x1", text)
	}
	var dims [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			return searchspace.Shape{}, usageErrorf("invalid --input %q: %q is not a positive integer; use a shape such as 28x28x1", text, p)
		}
		dims[i] = n
	}
	return searchspace.Shape{Height: dims[0], Width: dims[1], Channels: dims[2]}, nil
}

func formatShape(s searchspace.Shape) string {
	return fmt.Sprintf("%dx%dx%d", s.Height, s.Width, s.Channels)
}
