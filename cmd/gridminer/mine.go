package main

import (
	"fmt"
	"log/slog"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/stratum"
)

func newMineCmd(logger func() *slog.Logger) *cobra.Command {
	var url, user, password string
	var threads int
	var versionRolling bool
	cmd := &cobra.Command{
		Use:   "mine --url stratum+tcp://HOST:PORT --user U",
		Short: "Mine on the CPU against a Stratum V1 pool (for testing pools and proxies)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr, err := stratum.ParseURL(url)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			clk := clock.Real{}
			start := clk.Now()
			var c *stratum.Client
			c, err = stratum.NewClient(stratum.ClientConfig{
				Addr: addr, User: user, Password: password, Threads: threads,
				UserAgent: "gridminer/mine", VersionRolling: versionRolling,
				Clock: clk, Logger: logger(),
				OnResult: func(r stratum.ShareResult) {
					st := c.Stats()
					secs := clk.Now().Sub(start).Seconds()
					rate := 0.0
					if secs > 0 {
						rate = float64(st.Hashes) / secs / 1e6
					}
					verdict := "accepted"
					if !r.Accepted {
						verdict = fmt.Sprintf("rejected (%v)", r.Err)
					}
					fmt.Fprintf(out, "%s job %s nonce %08x diff %g: %d accepted, %d rejected, %.2f MH/s\n",
						verdict, r.Submit.JobID, r.Submit.Nonce, r.Difficulty, st.Accepted, st.Rejected, rate)
				},
			})
			if err != nil {
				return err
			}
			return c.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "pool URL, stratum+tcp://HOST:PORT")
	cmd.Flags().StringVar(&user, "user", "", "worker name")
	cmd.Flags().StringVar(&password, "password", "x", "worker password")
	cmd.Flags().IntVar(&threads, "threads", runtime.NumCPU(), "hashing threads")
	cmd.Flags().BoolVar(&versionRolling, "version-rolling", false, "negotiate BIP 310 version rolling (mask only; no rolling yet)")
	_ = cmd.MarkFlagRequired("url")
	_ = cmd.MarkFlagRequired("user")
	return cmd
}
