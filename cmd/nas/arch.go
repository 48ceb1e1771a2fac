package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"nas/searchspace"
)

func init() { registerCommand(newArchCmd) }

type archOptions struct {
	preset     string
	file       string
	alpha      float64
	resolution int
	classes    int
	asJSON     bool
}

// archReport is the output of `nas arch --json`.
type archReport struct {
	ID                  string                  `json:"id"`
	Source              string                  `json:"source"` // preset name or file path
	Arch                searchspace.Arch        `json:"arch"`
	Params              int64                   `json:"params"`
	MACs                int64                   `json:"macs"`
	PeakActivationBytes int64                   `json:"peak_activation_bytes"`
	PeakLayer           string                  `json:"peak_layer"`
	Layers              []searchspace.LayerCost `json:"layers"`
}

func newArchCmd(a *app) *cobra.Command {
	var opts archOptions
	cmd := &cobra.Command{
		Use:   "arch (--preset NAME [--alpha A] [--resolution R] [--classes N] | --file ARCH.json)",
		Short: "Print the layers, parameters and MACs of an architecture",
		Long: `arch prints one row per layer (name, kind, input and output shape, parameters,
multiply-accumulates) and the totals of an architecture: a MobileNet preset
(` + strings.Join(searchspace.PresetNames(), ", ") + `) or an architecture file
(docs/space-format.md). Parameters include batch-norm γ and β; MACs count conv
and linear layers at batch 1. The peak activation memory is the largest
float32 footprint of one layer's input, output and held residual input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkArchFlags(cmd, opts); err != nil {
				return err
			}
			return showArch(a, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.preset, "preset", "", "MobileNet preset: "+strings.Join(searchspace.PresetNames(), " or "))
	f.StringVar(&opts.file, "file", "", "architecture JSON file")
	f.Float64Var(&opts.alpha, "alpha", 1, "width multiplier α of the preset")
	f.IntVar(&opts.resolution, "resolution", 224, "input side of the preset, in pixels")
	f.IntVar(&opts.classes, "classes", 1000, "number of classes of the preset")
	f.BoolVar(&opts.asJSON, "json", false, "print as JSON")
	return cmd
}

func checkArchFlags(cmd *cobra.Command, opts archOptions) error {
	switch {
	case opts.preset == "" && opts.file == "":
		return usageErrorf("give --preset NAME or --file ARCH.json (see 'nas arch --help')")
	case opts.preset != "" && opts.file != "":
		return usageErrorf("give either --preset or --file, not both")
	case opts.file != "":
		for _, name := range []string{"alpha", "resolution", "classes"} {
			if cmd.Flags().Changed(name) {
				return usageErrorf("--%s applies only to --preset; an architecture file sets its own", name)
			}
		}
	}
	return nil
}

func showArch(a *app, opts archOptions) error {
	arch, source, err := loadArch(opts)
	if err != nil {
		return err
	}
	cost, err := searchspace.Cost(arch)
	if err != nil {
		return inputErrorf("%s: %w", source, err)
	}
	report := archReport{
		ID: arch.ID(), Source: source, Arch: arch,
		Params: cost.Params, MACs: cost.MACs,
		PeakActivationBytes: cost.PeakActivationBytes, PeakLayer: cost.PeakLayer,
		Layers: cost.Layers,
	}

	if opts.asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	printArchTable(a, report)
	return nil
}

// loadArch returns the architecture the flags select and a name for it.
func loadArch(opts archOptions) (searchspace.Arch, string, error) {
	if opts.preset != "" {
		arch, err := searchspace.Preset(opts.preset, opts.alpha, opts.resolution, opts.classes)
		if err != nil {
			return searchspace.Arch{}, "", badInput(err)
		}
		return arch, opts.preset, nil
	}

	data, err := os.ReadFile(opts.file)
	if err != nil {
		return searchspace.Arch{}, "", inputErrorf("read architecture file: %w", err)
	}
	arch, err := searchspace.ParseArch(data)
	if err != nil {
		return searchspace.Arch{}, "", inputErrorf("architecture file %s: %w", opts.file, err)
	}
	if err := arch.Validate(); err != nil {
		return searchspace.Arch{}, "", inputErrorf("architecture file %s: %w", opts.file, err)
	}
	return arch, opts.file, nil
}

func printArchTable(a *app, r archReport) {
	fmt.Fprintf(a.stdout, "architecture %s (%s): input %s at %d px, α %g, %d classes\n\n",
		r.ID, r.Source, formatShape(r.Arch.Input), r.Arch.Resolution, r.Arch.Alpha, r.Arch.Classes)
	// The totals are the widest numbers, so they size the right-aligned
	// number columns.
	pw := max(len("PARAMS"), len(strconv.FormatInt(r.Params, 10)))
	mw := max(len("MACS"), len(strconv.FormatInt(r.MACs, 10)))
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "LAYER\tKIND\tINPUT\t\tOUTPUT\t%*s\t%*s\n", pw, "PARAMS", mw, "MACS")
	for _, l := range r.Layers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t→\t%s\t%*d\t%*d\n", l.Name, l.Kind, formatShape(l.Input), formatShape(l.Output), pw, l.Params, mw, l.MACs)
	}
	fmt.Fprintf(tw, "total\t\t\t\t\t%*d\t%*d\n", pw, r.Params, mw, r.MACs)
	tw.Flush()
	fmt.Fprintf(a.stdout, "\nparams %.3fM, MACs %.2fM, peak activation memory %d bytes (%.2f MiB) at %s\n",
		float64(r.Params)/1e6, float64(r.MACs)/1e6, r.PeakActivationBytes, float64(r.PeakActivationBytes)/(1<<20), r.PeakLayer)
}
