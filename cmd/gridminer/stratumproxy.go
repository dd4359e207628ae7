package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/config"
	"github.com/gridminer/gridminer/internal/shares"
	"github.com/gridminer/gridminer/internal/stratum"
	"github.com/gridminer/gridminer/internal/stratum/proxy"
)

// buildProxy builds the Stratum proxy cfg's stratum.proxy section names
// (nil when there is none).
func buildProxy(cfg *config.File, clk clock.Clock, log *slog.Logger) (*proxy.Proxy, error) {
	pc := cfg.Stratum.Proxy
	if pc == nil {
		return nil, nil
	}
	var pools []proxy.Pool
	for i, p := range pc.Pools {
		addr, err := stratum.ParseURL(p.URL)
		if err != nil {
			return nil, fmt.Errorf("stratum.proxy.pools[%d]: %w", i, err)
		}
		pw := ""
		if p.PasswordEnv != "" {
			pw = os.Getenv(p.PasswordEnv)
		}
		pools = append(pools, proxy.Pool{Addr: addr, User: p.User, Password: pw})
	}
	return proxy.New(proxy.Config{Listen: pc.Listen, Pools: pools, PrefixSize: pc.PrefixSize}, proxy.Deps{Clock: clk, Log: log})
}

// measuredByHost merges the proxy's per-connection statistics by the
// miner's IP address: the live connection with the latest share wins.
func measuredByHost(p *proxy.Proxy) func() map[string]shares.Stats {
	return func() map[string]shares.Stats {
		out := map[string]shares.Stats{}
		for _, m := range p.Stats() {
			host, _, err := net.SplitHostPort(m.Remote)
			if err != nil {
				host = m.Remote
			}
			if cur, ok := out[host]; ok && (!m.Connected || !m.LastShare.After(cur.LastShare)) {
				continue
			}
			out[host] = m.Stats
		}
		return out
	}
}

func newStratumProxyCmd(logger func() *slog.Logger) *cobra.Command {
	var (
		listen, user, passEnv string
		pools                 []string
		prefix                int
		every                 time.Duration
	)
	cmd := &cobra.Command{
		Use:   "proxy --pool stratum+tcp://HOST:PORT [--pool ...] --user ACCOUNT [--listen :3333]",
		Short: "A Stratum V1 proxy: the fleet's miners share one upstream session per pool",
		Long: `proxy accepts the site's miners downstream and keeps one session per pool
upstream, splitting the pool's extranonce2 space among the miners (each gets the
pool's extranonce1 plus its own prefix), so thousands of machines need one pool
connection. Every share is validated before it is forwarded; the pool's answer
goes back to the miner. Pools are tried in the order given, with failover.
Per-miner share counts and the hashrate the shares measure are printed every
--stats-every (and served by 'gridminer run' at /api/v1/miners when its site file
has a stratum.proxy section).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(pools) == 0 || user == "" {
				return fmt.Errorf("give at least one --pool and the pool --user")
			}
			cfg := &config.File{Stratum: config.Stratum{Proxy: &config.StratumProxy{Listen: listen, PrefixSize: prefix}}}
			for _, p := range pools {
				cfg.Stratum.Proxy.Pools = append(cfg.Stratum.Proxy.Pools, config.StratumPool{URL: p, User: user, PasswordEnv: passEnv})
			}
			p, err := buildProxy(cfg, clock.Real{}, logger())
			if err != nil {
				return err
			}
			return runProxy(cmd.Context(), p, cmd.OutOrStdout(), every)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "0.0.0.0:3333", "address miners connect to")
	f.StringSliceVar(&pools, "pool", nil, "pool URL, stratum+tcp://HOST:PORT (repeat for failover, in priority order)")
	f.StringVar(&user, "user", "", "the site's pool account (worker name)")
	f.StringVar(&passEnv, "password-env", "", "environment variable holding the pool password")
	f.IntVar(&prefix, "prefix-size", 2, "bytes of the pool's extranonce2 given to each miner's prefix (1-4)")
	f.DurationVar(&every, "stats-every", time.Minute, "how often per-miner statistics are printed")
	return cmd
}

// runProxy runs p and prints per-miner statistics every every.
func runProxy(ctx context.Context, p *proxy.Proxy, out io.Writer, every time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	select {
	case <-p.Ready():
		fmt.Fprintf(out, "gridminer stratum proxy: listening on %s\n", p.Addr())
	case err := <-done:
		return err
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-t.C:
			var b strings.Builder
			for _, m := range p.Stats() {
				if m.Connected {
					fmt.Fprintf(&b, "  %s %s: %d accepted, %d rejected, %d stale, %.3f TH/s [%.3f, %.3f]\n", m.Remote, m.Worker,
						m.Accepted, m.Rejected, m.Stale, m.Hashrate.THs(), m.Low.THs(), m.High.THs())
				}
			}
			fmt.Fprint(out, b.String())
		}
	}
}
