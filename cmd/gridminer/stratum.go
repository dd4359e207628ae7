package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/gridminer/gridminer/internal/bitcoin/live/node"
	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/stratum/server"
	"github.com/gridminer/gridminer/internal/stratum/solo"
)

func newStratumCmd(logger func() *slog.Logger) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stratum",
		Short: "Stratum V1 server for downstream miners",
	}
	cmd.AddCommand(newStratumSoloCmd(logger), newStratumProxyCmd(logger))
	return cmd
}

type stratumSoloFlags struct {
	nodeURL, rpcUser, rpcPasswordEnv, payTo, network, listen string
	difficulty                                               float64
	statsEvery                                               time.Duration
}

func newStratumSoloCmd(logger func() *slog.Logger) *cobra.Command {
	var f stratumSoloFlags
	cmd := &cobra.Command{
		Use:   "solo --node URL --pay-to ADDRESS",
		Short: "Solo mine: serve block templates from a full node to Stratum miners and submit found blocks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStratumSolo(cmd.Context(), f, cmd.OutOrStdout(), logger(), clock.Real{}, nil)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.nodeURL, "node", node.DefaultURL, "full node JSON-RPC URL")
	fl.StringVar(&f.rpcUser, "rpc-user", "", "JSON-RPC user")
	fl.StringVar(&f.rpcPasswordEnv, "rpc-password-env", "", "environment variable holding the JSON-RPC password")
	fl.StringVar(&f.payTo, "pay-to", "", "address the coinbase pays")
	fl.StringVar(&f.network, "network", "mainnet", "network: mainnet, testnet3, testnet4, signet, regtest, simnet")
	fl.StringVar(&f.listen, "listen", ":3333", "Stratum listen address")
	fl.Float64Var(&f.difficulty, "difficulty", 1, "share difficulty (fixed)")
	fl.DurationVar(&f.statsEvery, "stats-every", time.Minute, "how often to print per-miner stats")
	_ = cmd.MarkFlagRequired("pay-to")
	return cmd
}

// runStratumSolo wires node -> source -> builder -> server; ready, if set,
// gets the server once it listens (for tests).
func runStratumSolo(ctx context.Context, f stratumSoloFlags, out io.Writer, log *slog.Logger, clk clock.Clock, ready func(*server.Server)) error {
	if f.statsEvery <= 0 {
		return errors.New("stratum solo: --stats-every must be positive")
	}
	c, err := node.New(node.Config{URL: f.nodeURL, User: f.rpcUser, PasswordEnv: f.rpcPasswordEnv, Network: f.network}, node.Deps{})
	if err != nil {
		return fmt.Errorf("stratum solo: %w", err)
	}
	src, err := solo.NewSource(solo.SourceConfig{}, solo.SourceDeps{Node: c, Clock: clk, Log: log})
	if err != nil {
		return fmt.Errorf("stratum solo: %w", err)
	}
	b, err := solo.NewBuilder(solo.BuilderConfig{Network: f.network, PayTo: f.payTo,
		Extranonce1Size: server.Extranonce1Size, Extranonce2Size: server.DefaultExtranonce2Size, Tag: []byte("/gridminer/")})
	if err != nil {
		return fmt.Errorf("stratum solo: %w", err)
	}
	sl, err := server.NewSolo(server.SoloDeps{Source: src, Builder: b, Node: c, Log: log, OnFound: func(fd server.Found) {
		if fd.Err != nil {
			fmt.Fprintf(out, "block %d %s by %s NOT accepted: %v\n", fd.Height, fd.Hash, fd.Worker, fd.Err)
			return
		}
		fmt.Fprintf(out, "block %d %s found by %s\n", fd.Height, fd.Hash, fd.Worker)
	}})
	if err != nil {
		return fmt.Errorf("stratum solo: %w", err)
	}
	srv, err := server.New(server.Config{Listen: f.listen, ShareDifficulty: f.difficulty},
		server.Deps{Jobs: sl, OnBlock: sl.OnBlock, Clock: clk, Log: log})
	if err != nil {
		return fmt.Errorf("stratum solo: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error {
		select {
		case <-srv.Ready():
		case <-gctx.Done():
			return nil
		}
		fmt.Fprintf(out, "stratum solo: listening on %s, paying %s on %s\n", srv.Addr(), f.payTo, f.network)
		if ready != nil {
			ready(srv)
		}
		for {
			if err := clk.Sleep(gctx, f.statsEvery); err != nil {
				return nil
			}
			for _, st := range srv.Stats() {
				fmt.Fprintf(out, "miner %s conn %d: accepted %d rejected %d stale %d hashrate %v [%v, %v] last share %s\n",
					st.Worker, st.Conn, st.Accepted, st.Rejected, st.Stale, st.Hashrate, st.Low, st.High, st.LastShare.Format(time.RFC3339))
			}
		}
	})
	return g.Wait()
}
