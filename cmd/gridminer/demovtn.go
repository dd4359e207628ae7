package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/config"
	"github.com/gridminer/gridminer/internal/demand/openadr3"
	"github.com/gridminer/gridminer/internal/store/sqlite"
)

// demoVTN is an OpenADR 3 VTN the demo runs in-process so its site can be
// driven by events end to end: a business client posts events, the site's
// VEN receives them, curtails, and reports back.
type demoVTN struct {
	base     string // the 3.1.0 base URL
	blSecret string
	stop     func()
}

// startDemoVTN serves a VTN with a business client "bl" and a VEN client
// "demo-site" on listen, creates the program "demo", and points cfg's VEN
// at it (the VEN's secret goes to a file in dir).
func startDemoVTN(ctx context.Context, cfg *config.File, listen, dir string, clk clock.Clock, log *slog.Logger) (*demoVTN, error) {
	st, err := sqlite.Open(ctx, filepath.Join(dir, "vtn.db"))
	if err != nil {
		return nil, fmt.Errorf("vtn: %w", err)
	}
	bl, ven := randomSecret(), randomSecret()
	vt, err := openadr3.NewVTN(openadr3.VTNConfig{AllowHTTPCallbacks: true, Clients: []openadr3.VTNClient{
		{ID: "bl", Secret: bl, Role: openadr3.RoleBL},
		{ID: "demo-site", Secret: ven, Role: openadr3.RoleVEN, VENName: "demo-site"},
	}}, openadr3.VTNDeps{Store: st, Clock: clk, Log: log})
	if err != nil {
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("vtn: listen on %s: %w", listen, err)
	}
	srv := &http.Server{Handler: vt, ReadHeaderTimeout: 10 * time.Second}
	vctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { vt.Run(vctx); done <- struct{}{} }()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo vtn", "err", err)
		}
		done <- struct{}{}
	}()
	d := &demoVTN{base: "http://" + ln.Addr().String() + openadr3.V310.BasePath(), blSecret: bl, stop: func() {
		cancel()
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Shutdown(sctx)
		c()
		<-done
		<-done
		st.Close()
	}}
	c, err := openadr3.NewClient(openadr3.ClientConfig{BaseURL: d.base, Version: openadr3.V310, ClientID: "bl", ClientSecret: bl})
	if err == nil {
		_, err = c.CreateProgram(ctx, openadr3.Program{ProgramName: "demo"})
	}
	if err != nil {
		d.stop()
		return nil, fmt.Errorf("vtn: create the demo program: %w", err)
	}
	secretFile := filepath.Join(dir, "ven-secret")
	if err := os.WriteFile(secretFile, []byte(ven+"\n"), 0o600); err != nil {
		d.stop()
		return nil, err
	}
	cfg.Demand.OpenADR3 = &config.OpenADR3{URL: d.base, Version: "3.1.0", ClientID: "demo-site", ClientSecretFile: secretFile,
		VENName: "demo-site", Poll: config.Duration(30 * time.Second)}
	cfg.Demand.CreditUSDPerMWh = map[string]float64{"demo": 200}
	return d, nil
}

// banner tells the user how to drive the demo site from the VTN.
func (d *demoVTN) banner(w io.Writer) {
	fmt.Fprintf(w, "OpenADR 3 VTN %s (program \"demo\"); curtail the site with, e.g.:\n", d.base)
	fmt.Fprintf(w, "  gridminer vtn event --url %s --client-id bl --client-secret %s \\\n", d.base, d.blSecret)
	fmt.Fprintf(w, "    --program demo --type IMPORT_CAPACITY_LIMIT --value 200 --duration PT1H --report USAGE,BASELINE\n")
	fmt.Fprintf(w, "  gridminer vtn reports --url %s --client-id bl --client-secret %s\n", d.base, d.blSecret)
}
