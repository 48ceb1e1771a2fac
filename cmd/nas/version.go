package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func init() { registerCommand(newVersionCmd) }

// versionInfo is what `nas version` reports.
type versionInfo struct {
	Version string `json:"version"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	// KernelPath names the compute path the kernels package was built with.
	KernelPath string `json:"kernel_path"`
}

// codeVersion returns the module version, or the VCS revision for a build
// from a checkout, so that runs can record which code produced them.
func codeVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	version := info.Main.Version
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if (version == "" || version == "(devel)") && revision != "" {
		version = revision
		if len(version) > 12 {
			version = version[:12]
		}
		if modified == "true" {
			version += "-dirty"
		}
	}
	if version == "" {
		version = "(devel)"
	}
	return version
}

func newVersionCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, the Go toolchain and the kernel path",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := versionInfo{
				Version:    codeVersion(),
				Go:         runtime.Version(),
				OS:         runtime.GOOS,
				Arch:       runtime.GOARCH,
				KernelPath: kernelPath(),
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			fmt.Fprintf(a.stdout, "nas %s (%s %s/%s, kernels: %s)\n", v.Version, v.Go, v.OS, v.Arch, v.KernelPath)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}
