// Command gridminer runs a Bitcoin mining site as a grid asset: it controls
// the fleet over each vendor's API, follows power prices, and keeps a
// settlement ledger. `gridminer demo` runs a whole simulated site.
//
// This package only wires: it parses flags and config, builds the parts
// under internal/ and runs them. All logic lives in those packages.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	_ "time/tzdata" // market calendars (America/Chicago) on machines without tzdata
)

func main() {
	// A controller of thousands of miners makes much short-lived garbage
	// (one connection and reply per miner per poll) on a small heap; trade
	// a little memory for less GC work unless the operator set GOGC.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "gridminer:", err)
		os.Exit(1)
	}
}
