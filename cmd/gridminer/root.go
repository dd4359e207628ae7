package main

import (
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

func newRoot() *cobra.Command {
	var logLevel string
	root := &cobra.Command{
		Use:   "gridminer",
		Short: "Run a Bitcoin mining site as a grid asset",
		Long: `gridminer controls a fleet of ASIC miners over their own APIs, decides every
settlement interval which machines mine and at what power from power prices and
Bitcoin economics, carries the plan out, verifies it, and keeps a ledger.

Start with 'gridminer demo': a whole simulated site, no hardware or network needed.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&logLevel, "log-level", "warn", "log level: debug, info, warn or error (logs go to stderr)")
	logger := func(w io.Writer) *slog.Logger {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
			lvl = slog.LevelWarn
		}
		return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl}))
	}
	stderrLog := func() *slog.Logger { return logger(os.Stderr) }
	root.AddCommand(
		newDemoCmd(stderrLog),
		newRunCmd(stderrLog),
		newCheckConfigCmd(),
		newSimCmd(stderrLog),
		newMinerCmd(stderrLog),
		newBenchCmd(stderrLog),
		newScanCmd(stderrLog),
		newPlanCmd(),
		newBacktestCmd(),
		newDataCmd(),
		newVTNCmd(),
		newMineCmd(stderrLog),
		newStratumCmd(stderrLog),
	)
	return root
}
