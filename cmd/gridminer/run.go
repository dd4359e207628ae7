package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/config"
	"github.com/gridminer/gridminer/internal/price"
)

func newRunCmd(logger func() *slog.Logger) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "run --config site.yaml",
		Short: "Run the site controller against real (or simulated) miners",
		Long: `run reads the site file, connects to every configured miner, and controls the
site on the wall clock until interrupted: poll telemetry, plan each settlement
interval, apply and verify setpoints, record telemetry, decisions and the ledger.
On Ctrl-C it leaves machines as site.on_stop says and flushes the store.

Validate a file first with 'gridminer check-config FILE'. examples/site.yaml runs
against 'gridminer sim'.`,
		Example: `  gridminer sim --miners 300 --port 4028 &
  gridminer run --config examples/site.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return fmt.Errorf("--config is required")
			}
			cfg, err := config.Load(path)
			if err != nil {
				return err
			}
			log := logger()
			out := cmd.OutOrStdout()
			p := newPrinter(out, price.ERCOTLocation())
			ctl, err := buildController(cmd.Context(), cfg, clock.Real{}, log, hooks{settle: p.line, trip: p.trip})
			if err != nil {
				return err
			}
			if ctl.ln != nil {
				fmt.Fprintf(out, "gridminer: status on http://%s/api/v1/status\n", ctl.ln.Addr())
			}
			p.header()
			return ctl.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "site configuration file (YAML)")
	return cmd
}

func newCheckConfigCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check-config FILE",
		Short: "Validate a site file without touching any device",
		Long: `check-config decodes FILE strictly (unknown keys are errors) and validates every
value, printing each problem with its line number. It opens no connection.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(args[0])
			if err != nil {
				return err
			}
			n := 0
			for _, m := range cfg.Miners {
				a, _ := m.Addrs()
				n += len(a)
			}
			fleet := ""
			if len(cfg.Fleet) > 0 {
				fleet = fmt.Sprintf(", fleet of %d classes in %d dispatch units for plan", len(cfg.Fleet), len(config.Units(cfg.Fleet)))
			}
			contract := ""
			if !config.IsZeroContract(cfg.Contract) {
				contract = ", contract"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%d miners%s, price %s, policy %s%s, store %s %s)\n",
				args[0], n, fleet, cfg.Price.Type, cfg.Policy.Type, contract, cfg.Store.Type, cfg.Store.Path)
			return nil
		},
	}
}
