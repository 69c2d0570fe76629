package main

import (
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/callsign-dev/callsign/shared/config"
)

func init() {
	register(command{name: "config", summary: "print the effective configuration, secrets redacted", run: runConfig})
}

// runConfig loads and validates the CALLSIGN_* configuration and prints
// every variable with its effective value. Secret values print as
// [REDACTED]; a validation failure prints the problems and exits 1.
func runConfig(e *env, args []string) int {
	fs := flag.NewFlagSet("config", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	markdown := fs.Bool("markdown", false, "print the variable reference table (Markdown) instead")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK // -h, like the other subcommands
		}
		return exitUsage
	}
	if *markdown {
		fmt.Fprint(e.stdout, config.MarkdownTable())
		return exitOK
	}
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintf(e.stderr, "callsign config: %v\n", err)
		return exitFail
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, s := range cfg.Settings() {
		fmt.Fprintf(w, "%s\t%s\n", s.Name, s.Value)
	}
	if err := w.Flush(); err != nil {
		return exitFail
	}
	return exitOK
}
