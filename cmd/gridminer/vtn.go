package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/demand/openadr3"
	"github.com/gridminer/gridminer/internal/store/sqlite"
)

// newVTNCmd is "gridminer vtn": an OpenADR 3 VTN, and business-logic
// commands to drive one.
func newVTNCmd() *cobra.Command {
	var o vtnServeOpts
	cmd := &cobra.Command{
		Use:   "vtn",
		Short: "Run an OpenADR 3 VTN (server) for demos, tests and small programs",
		Long: `vtn serves OpenADR 3 — versions 3.0.1 and 3.1.0, each under its own base path
(/openadr3/3.0.1 and /openadr3/3.1.0) over one SQLite store — with programs,
events, reports, subscriptions (webhook notifications, retried), vens,
resources and an OAuth 2 client-credentials token endpoint (/auth/token).

Clients come from --clients, a YAML file:

  clients:
    - client_id: utility-bl
      secret_env: VTN_BL_SECRET        # or secret_file: /path/to/file
      role: bl                         # business logic: writes programs and events
    - client_id: site-1
      secret_file: /etc/gridminer/site-1.secret
      role: ven                        # reads events targeted to it, writes reports
      ven_name: site-1                 # the venName it may use, granted as a target
      targets: [west-zone]             # further targets granted to it

or, with --dev, one business client "bl" and one VEN client "site-1" with
random secrets printed at start (and http callback URLs allowed).

The subcommands act as business logic against a running VTN (this one or
another): create programs and events, list events and reports, cancel events.`,
		Example: `  gridminer vtn --dev
  gridminer vtn --listen :8443 --db /var/lib/gridminer/vtn.db --clients vtn-clients.yaml

  export OPENADR3_CLIENT_SECRET=...   # printed by --dev
  gridminer vtn program --url http://127.0.0.1:8080/openadr3/3.1.0 --name curtailment
  gridminer vtn event --url http://127.0.0.1:8080/openadr3/3.1.0 --program curtailment \
      --type IMPORT_CAPACITY_LIMIT --value 400 --start now --duration PT1H --target site-1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return serveVTN(cmd, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to serve on")
	f.StringVar(&o.db, "db", "./vtn.db", "SQLite database of the VTN's objects")
	f.StringVar(&o.clients, "clients", "", "YAML file of the clients (see above)")
	f.BoolVar(&o.dev, "dev", false, "create a business client and a VEN client with random secrets (printed) and allow http callbacks")
	f.DurationVar(&o.tokenTTL, "token-ttl", time.Hour, "lifetime of issued tokens")
	f.BoolVar(&o.httpCallbacks, "allow-http-callbacks", false, "accept http:// subscription callback URLs (the specification requires https)")
	cmd.AddCommand(newVTNProgramCmd(), newVTNEventCmd(), newVTNEventsCmd(), newVTNCancelCmd(), newVTNReportsCmd())
	return cmd
}

type vtnServeOpts struct {
	listen, db, clients string
	dev, httpCallbacks  bool
	tokenTTL            time.Duration
}

// cmdLogger is the logger of a command, at the root's --log-level, to stderr.
func cmdLogger(cmd *cobra.Command) *slog.Logger {
	var lvl slog.Level
	if s, err := cmd.Flags().GetString("log-level"); err != nil || lvl.UnmarshalText([]byte(s)) != nil {
		lvl = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl}))
}

func serveVTN(cmd *cobra.Command, o vtnServeOpts) error {
	out := cmd.OutOrStdout()
	var clients []openadr3.VTNClient
	if o.clients != "" {
		cs, err := loadVTNClients(o.clients)
		if err != nil {
			return err
		}
		clients = cs
	}
	if o.dev {
		for _, c := range []openadr3.VTNClient{{ID: "bl", Role: openadr3.RoleBL}, {ID: "site-1", Role: openadr3.RoleVEN, VENName: "site-1"}} {
			c.Secret = randomSecret()
			clients = append(clients, c)
		}
	}
	if len(clients) == 0 {
		return errors.New("no clients: give --clients FILE or --dev")
	}
	ctx := cmd.Context()
	st, err := sqlite.Open(ctx, o.db)
	if err != nil {
		return err
	}
	defer st.Close()
	log := cmdLogger(cmd)
	vt, err := openadr3.NewVTN(openadr3.VTNConfig{Clients: clients, TokenTTL: o.tokenTTL, AllowHTTPCallbacks: o.httpCallbacks || o.dev},
		openadr3.VTNDeps{Store: st, Clock: clock.Real{}, Log: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("vtn: %w", err)
	}
	srv := &http.Server{Handler: vt, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "gridminer vtn: OpenADR 3 VTN on %s, store %s\n", base, o.db)
	for _, v := range openadr3.Versions {
		fmt.Fprintf(out, "  OpenADR %s  %s%s\n", v, base, v.BasePath())
	}
	for _, c := range clients {
		line := fmt.Sprintf("  client %s: role %s", c.ID, c.Role)
		if c.VENName != "" {
			line += ", ven_name " + c.VENName
		}
		if o.dev {
			line += ", secret " + c.Secret
		}
		fmt.Fprintln(out, line)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return vt.Run(gctx) })
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("vtn: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	err = g.Wait()
	fmt.Fprintln(out, "gridminer vtn: stopped")
	return err
}

func randomSecret() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// vtnClientsFile is the --clients file.
type vtnClientsFile struct {
	Clients []struct {
		ClientID   string   `yaml:"client_id"`
		SecretEnv  string   `yaml:"secret_env"`
		SecretFile string   `yaml:"secret_file"`
		Role       string   `yaml:"role"`
		VENName    string   `yaml:"ven_name"`
		Targets    []string `yaml:"targets"`
	} `yaml:"clients"`
}

// loadVTNClients reads a clients file strictly (unknown keys are errors),
// with the secrets from the environment or files.
func loadVTNClients(path string) ([]openadr3.VTNClient, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f vtnClientsFile
	if err := yaml.NewDecoder(bytes.NewReader(src), yaml.Strict()).Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %s", path, yaml.FormatError(err, false, true))
	}
	var out []openadr3.VTNClient
	for i, c := range f.Clients {
		where := fmt.Sprintf("%s: clients[%d] (%s)", path, i, c.ClientID)
		secret, err := readSecret(c.SecretEnv, c.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		role := openadr3.Role(c.Role)
		switch {
		case c.ClientID == "":
			return nil, fmt.Errorf("%s: no client_id", where)
		case role != openadr3.RoleBL && role != openadr3.RoleVEN:
			return nil, fmt.Errorf("%s: role %q: want bl or ven", where, c.Role)
		case role == openadr3.RoleBL && (c.VENName != "" || len(c.Targets) > 0):
			return nil, fmt.Errorf("%s: ven_name and targets are for ven clients", where)
		}
		out = append(out, openadr3.VTNClient{ID: c.ClientID, Secret: secret, Role: role, VENName: c.VENName, Targets: c.Targets})
	}
	return out, nil
}

// readSecret reads a secret from the environment variable env or the file
// path (exactly one of them), trimming the trailing newline of a file.
func readSecret(env, path string) (string, error) {
	switch {
	case env != "" && path != "":
		return "", errors.New("give secret_env or secret_file, not both")
	case env != "":
		s := os.Getenv(env)
		if s == "" {
			return "", fmt.Errorf("environment variable %s is empty or unset", env)
		}
		return s, nil
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			return "", err
		}
		s := strings.TrimRight(string(b), "\r\n")
		if s == "" {
			return "", fmt.Errorf("secret file %s is empty", path)
		}
		return s, nil
	}
	return "", errors.New("no secret_env or secret_file")
}

// blFlags are how the business-logic subcommands reach a VTN.
type blFlags struct {
	url, version, clientID, secret, secretEnv, secretFile string
	timeout                                               time.Duration
}

func (b *blFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&b.url, "url", "http://127.0.0.1:8080/openadr3/3.1.0", "the VTN's base URL for the version")
	f.StringVar(&b.version, "version", "", "OpenADR version, 3.0.1 or 3.1.0 (default: from the URL)")
	f.StringVar(&b.clientID, "client-id", "bl", "business-logic client id")
	f.StringVar(&b.secret, "client-secret", "", "client secret (visible to other local users; prefer --client-secret-env or --client-secret-file)")
	f.StringVar(&b.secretEnv, "client-secret-env", "OPENADR3_CLIENT_SECRET", "environment variable holding the client secret")
	f.StringVar(&b.secretFile, "client-secret-file", "", "file holding the client secret")
	f.DurationVar(&b.timeout, "timeout", 30*time.Second, "how long the command may take")
}

func (b *blFlags) client() (*openadr3.Client, error) {
	v := b.version
	if v == "" {
		for _, known := range openadr3.Versions {
			if strings.HasSuffix(strings.TrimSuffix(b.url, "/"), string(known)) {
				v = string(known)
			}
		}
		if v == "" {
			return nil, fmt.Errorf("--url %s: cannot tell the version; give --version", b.url)
		}
	}
	ver, err := openadr3.ParseVersion(v)
	if err != nil {
		return nil, err
	}
	secret := b.secret
	if secret == "" {
		if b.secretFile != "" {
			secret, err = readSecret("", b.secretFile)
		} else {
			secret, err = readSecret(b.secretEnv, "")
		}
		if err != nil {
			return nil, fmt.Errorf("client secret: %w", err)
		}
	}
	return openadr3.NewClient(openadr3.ClientConfig{BaseURL: b.url, Version: ver, ClientID: b.clientID, ClientSecret: secret})
}

// blRun runs f with a client and a deadline.
func blRun(cmd *cobra.Command, b *blFlags, f func(ctx context.Context, c *openadr3.Client, out io.Writer) error) error {
	c, err := b.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), b.timeout)
	defer cancel()
	return f(ctx, c, cmd.OutOrStdout())
}

func newVTNProgramCmd() *cobra.Command {
	var b blFlags
	var name, longName string
	cmd := &cobra.Command{
		Use:   "program --name NAME",
		Short: "Create a program (as business logic)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return errors.New("missing --name")
			}
			return blRun(cmd, &b, func(ctx context.Context, c *openadr3.Client, out io.Writer) error {
				p := openadr3.Program{ProgramName: name}
				if longName != "" {
					if c.Version() == openadr3.V301 {
						p.ProgramLongName = longName
					} else {
						p.Attributes = []openadr3.ValuesMap{{Type: "PROGRAM_LONG_NAME", Values: []openadr3.Value{openadr3.Str(longName)}}}
					}
				}
				got, err := c.CreateProgram(ctx, p)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "program %s: id %s\n", got.ProgramName, got.ID)
				return nil
			})
		},
	}
	b.register(cmd)
	cmd.Flags().StringVar(&name, "name", "", "programName (unique on the VTN)")
	cmd.Flags().StringVar(&longName, "long-name", "", "a long name for people")
	return cmd
}

type vtnEventOpts struct {
	program, typ, units, currency, start, duration, name, targetType string
	value                                                            float64
	priority                                                         int
	targets                                                          []string
	reports                                                          []string
}

func newVTNEventCmd() *cobra.Command {
	var (
		b blFlags
		o vtnEventOpts
	)
	cmd := &cobra.Command{
		Use:   "event --program NAME --type TYPE --value X",
		Short: "Create an event of one interval (as business logic)",
		Long: `event creates an event of one interval with one payload in a program (named
by programName or id). --value is in --units: IMPORT_CAPACITY_LIMIT and
DISPATCH_SETPOINT default to KW, PRICE to KWH (a price per kWh, in
--currency), SIMPLE is a level 0-3. --start "now" uses the specification's
"do it now" start (0001-01-01), which each VEN reads as when it gets the
event; otherwise an RFC 3339 time or +DURATION from now. --duration P9999Y
means until cancelled.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return blRun(cmd, &b, func(ctx context.Context, c *openadr3.Client, out io.Writer) error {
				ev, err := o.event(ctx, c, time.Now())
				if err != nil {
					return err
				}
				got, err := c.CreateEvent(ctx, ev)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "event %s: id %s, program %s, %s %v %s from %s for %s\n", got.EventName, got.ID, o.program, o.typ, o.value,
					ev.PayloadDescriptors[0].Units, ev.IntervalPeriod.Start, ev.IntervalPeriod.Duration)
				return nil
			})
		},
	}
	b.register(cmd)
	f := cmd.Flags()
	f.StringVar(&o.program, "program", "", "program name or id")
	f.StringVar(&o.typ, "type", openadr3.PayloadImportCapacityLimit, "payload type: IMPORT_CAPACITY_LIMIT, DISPATCH_SETPOINT, PRICE or SIMPLE (or another)")
	f.Float64Var(&o.value, "value", 0, "payload value, in --units")
	f.StringVar(&o.units, "units", "", "units (default by type: KW, KWH for PRICE)")
	f.StringVar(&o.currency, "currency", "USD", "currency of a PRICE")
	f.StringVar(&o.start, "start", "now", `start: "now", an RFC 3339 time, or +DURATION from now`)
	f.StringVar(&o.duration, "duration", "PT1H", "ISO 8601 duration; P9999Y for ever")
	f.IntVar(&o.priority, "priority", -1, "priority, 0 highest (default: none)")
	f.StringVar(&o.name, "name", "", "eventName")
	f.StringSliceVar(&o.targets, "target", nil, "target (repeat); in 3.0.1 of --target-type")
	f.StringVar(&o.targetType, "target-type", openadr3.VENName, "3.0.1 target type")
	f.StringSliceVar(&o.reports, "report", nil, "report the VENs send back, per interval (repeat or comma-separate): USAGE, DEMAND, BASELINE")
	return cmd
}

// event builds the event the flags describe.
func (o vtnEventOpts) event(ctx context.Context, c *openadr3.Client, now time.Time) (openadr3.Event, error) {
	if o.program == "" {
		return openadr3.Event{}, errors.New("missing --program")
	}
	progs, err := c.Programs(ctx, openadr3.Query{})
	if err != nil {
		return openadr3.Event{}, err
	}
	progID := ""
	for _, p := range progs {
		if p.ProgramName == o.program || p.ID == o.program {
			progID = p.ID
		}
	}
	if progID == "" {
		return openadr3.Event{}, fmt.Errorf("no program %q on the VTN (create it with gridminer vtn program)", o.program)
	}
	start := openadr3.Now
	switch {
	case o.start == "now":
	case strings.HasPrefix(o.start, "+"):
		d, err := time.ParseDuration(o.start[1:])
		if err != nil {
			return openadr3.Event{}, fmt.Errorf("--start %s: %w", o.start, err)
		}
		start = openadr3.DateTimeOf(now.Add(d).Truncate(time.Second))
	default:
		t, err := time.Parse(time.RFC3339, o.start)
		if err != nil {
			return openadr3.Event{}, fmt.Errorf("--start %s: want now, RFC 3339 or +DURATION", o.start)
		}
		start = openadr3.DateTimeOf(t)
	}
	dur := openadr3.Duration(o.duration)
	if _, err := dur.Parse(); err != nil {
		return openadr3.Event{}, fmt.Errorf("--duration: %w", err)
	}
	desc := openadr3.PayloadDescriptor{ObjectType: openadr3.EventPayloadDescriptor, PayloadType: o.typ, Units: o.units}
	switch o.typ {
	case openadr3.PayloadPrice:
		desc.Currency = o.currency
		if desc.Units == "" {
			desc.Units = "KWH"
		}
	case openadr3.PayloadSimple:
		if o.value != float64(int(o.value)) || o.value < 0 || o.value > 3 {
			return openadr3.Event{}, fmt.Errorf("--value %v: a SIMPLE level is 0, 1, 2 or 3", o.value)
		}
	default:
		if desc.Units == "" {
			desc.Units = "KW"
		}
	}
	name := o.name
	if name == "" {
		name = strings.ToLower(o.typ) + " " + strconv.FormatFloat(o.value, 'g', -1, 64)
	}
	ev := openadr3.Event{
		ProgramID: progID, EventName: name,
		PayloadDescriptors: []openadr3.PayloadDescriptor{desc},
		IntervalPeriod:     &openadr3.IntervalPeriod{Start: start, Duration: dur},
		Intervals:          []openadr3.Interval{{ID: 0, Payloads: []openadr3.ValuesMap{{Type: o.typ, Values: []openadr3.Value{openadr3.Num(o.value)}}}}},
	}
	if o.priority >= 0 {
		p := o.priority
		ev.Priority = &p
	}
	for _, r := range o.reports {
		ev.ReportDescriptors = append(ev.ReportDescriptors, openadr3.ReportDescriptor{PayloadType: strings.ToUpper(strings.TrimSpace(r))})
	}
	if len(o.targets) > 0 {
		if c.Version() == openadr3.V301 {
			ev.Targets = openadr3.MapTargets(o.targetType, o.targets...)
		} else {
			ev.Targets = openadr3.NameTargets(o.targets...)
		}
	}
	return ev, nil
}

func newVTNEventsCmd() *cobra.Command {
	var b blFlags
	var program string
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List events (as business logic)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return blRun(cmd, &b, func(ctx context.Context, c *openadr3.Client, out io.Writer) error {
				evs, err := c.Events(ctx, openadr3.Query{ProgramID: program})
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tPROGRAM\tNAME\tPRIORITY\tSTART\tDURATION\tPAYLOADS")
				for _, ev := range evs {
					prio := "-"
					if ev.Priority != nil {
						prio = strconv.Itoa(*ev.Priority)
					}
					var start, dur string
					if ip := ev.IntervalPeriod; ip != nil {
						start, dur = string(ip.Start), string(ip.Duration)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.ID, ev.ProgramID, ev.EventName, prio, start, dur, payloadSummary(ev.Intervals))
				}
				return tw.Flush()
			})
		},
	}
	b.register(cmd)
	cmd.Flags().StringVar(&program, "program-id", "", "only the events of this program id")
	return cmd
}

func payloadSummary(ivs []openadr3.Interval) string {
	var parts []string
	for _, iv := range ivs {
		for _, p := range iv.Payloads {
			var vals []string
			for _, v := range p.Values {
				vals = append(vals, v.String())
			}
			parts = append(parts, fmt.Sprintf("%d:%s=%s", iv.ID, p.Type, strings.Join(vals, ",")))
		}
	}
	return strings.Join(parts, " ")
}

func newVTNCancelCmd() *cobra.Command {
	var b blFlags
	cmd := &cobra.Command{
		Use:   "cancel EVENT_ID",
		Short: "Cancel (delete) an event (as business logic)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return blRun(cmd, &b, func(ctx context.Context, c *openadr3.Client, out io.Writer) error {
				ev, err := c.DeleteEvent(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "event %s (%s) deleted\n", ev.ID, ev.EventName)
				return nil
			})
		},
	}
	b.register(cmd)
	return cmd
}

func newVTNReportsCmd() *cobra.Command {
	var b blFlags
	var event string
	cmd := &cobra.Command{
		Use:   "reports",
		Short: "List the reports VENs sent (as business logic)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return blRun(cmd, &b, func(ctx context.Context, c *openadr3.Client, out io.Writer) error {
				reps, err := c.Reports(ctx, openadr3.Query{EventID: event})
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tEVENT\tCLIENT\tTYPE\tUNITS\tRESOURCE\tINTERVALS")
				for _, r := range reps {
					typ, units := "", ""
					if len(r.PayloadDescriptors) > 0 {
						typ, units = r.PayloadDescriptors[0].PayloadType, r.PayloadDescriptors[0].Units
					}
					for _, res := range r.Resources {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.EventID, r.ClientName, typ, units, res.ResourceName, payloadSummary(res.Intervals))
					}
				}
				return tw.Flush()
			})
		},
	}
	b.register(cmd)
	cmd.Flags().StringVar(&event, "event", "", "only the reports on this event id")
	return cmd
}
