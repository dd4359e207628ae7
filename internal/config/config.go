// Package config reads and validates gridminer's one YAML site file.
//
// Decoding is strict: an unknown key is an error, and every error, whether
// YAML syntax, an unknown key or a bad value, names the file and line. The
// package only describes the site; it opens no sockets and touches no
// device (cmd/gridminer wires the parts it names), so `gridminer
// check-config` can validate a file safely.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"

	"github.com/gridminer/gridminer/internal/bitcoin/live"
	"github.com/gridminer/gridminer/internal/contract"
	"github.com/gridminer/gridminer/internal/dispatch"
	"github.com/gridminer/gridminer/internal/fleet"
)

// File is a whole site configuration.
type File struct {
	Site    Site     `yaml:"site"`
	Miners  []Miners `yaml:"miners"`
	Price   Price    `yaml:"price"`
	Bitcoin Bitcoin  `yaml:"bitcoin"`
	Policy  Policy   `yaml:"policy"`
	// Fleet describes the machines by class for offline use (plan,
	// backtest); the live controller finds its machines under miners.
	Fleet []FleetClass `yaml:"fleet"`
	// Contract is the site's power contract and grid obligations.
	Contract contract.Contract `yaml:"contract"`
	// Meter is the site meter; UFR the under-frequency trip; Demand the
	// demand-response and grid event sources.
	Meter   Meter     `yaml:"meter"`
	UFR     UFR       `yaml:"ufr"`
	Demand  Demand    `yaml:"demand"`
	Stratum Stratum   `yaml:"stratum"`
	Store   Store     `yaml:"store"`
	HTTP    HTTP      `yaml:"http"`
	Poll    Poll      `yaml:"poll"`
	Execute Execution `yaml:"execute"`
}

// Site is the site-wide section.
type Site struct {
	Name string `yaml:"name"`
	// Interval is the settlement interval (default 15m).
	Interval Duration `yaml:"interval"`
	// ImportCapKW caps the site's draw; 0 means no cap.
	ImportCapKW float64 `yaml:"import_cap_kw"`
	// OnStalePrice: hold | sleep | run when no fresh price is known (default hold).
	OnStalePrice string `yaml:"on_stale_price"`
	// OnStop: hold | sleep | run, the state machines are left in when the controller stops (default hold).
	OnStop string `yaml:"on_stop"`
	// LoadForecast is a system-load file (ERCOT native load .xlsx, or a
	// time,mw CSV of actuals and forecast, re-read every hour) for the 4CP
	// peak risk; empty means no 4CP risk is known.
	LoadForecast string `yaml:"load_forecast"`
	// DeploymentsFile lists demand-response deployments (re-read every
	// poll; a change re-plans at once): the manual deployment source.
	DeploymentsFile string `yaml:"deployments_file"`
	// OverheadWPerMachine is the cooling and site load each running
	// machine adds; dispatch counts it in breakevens (default 0).
	OverheadWPerMachine float64 `yaml:"overhead_w_per_machine"`
}

// Miners is one machine or a block of machines with consecutive addresses.
type Miners struct {
	// Driver selects the firmware API: luxos, antminer, whatsminer, braiins or avalon.
	Driver string `yaml:"driver"`
	// Addr is one machine, host:port.
	Addr string `yaml:"addr"`
	// First and Count name a block of Count machines from the IPv4 address
	// First upward, skipping .0 and .255, all on Port (default 4028).
	First string `yaml:"first"`
	Count int    `yaml:"count"`
	Port  int    `yaml:"port"`
	// Timeout is the per-call network deadline (default 3s).
	Timeout Duration `yaml:"timeout"`
	// User is the API user for firmwares with credentials. The password
	// never appears in the file: PasswordEnv names an environment
	// variable holding it, or PasswordFile a file (first line).
	User         string `yaml:"user"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// WebPort is the web UI port for drivers that use it (Antminer
	// control; default 80).
	WebPort int `yaml:"web_port"`
	// GRPCPort is the Braiins OS public API port (default 50051) and
	// V3Port the Whatsminer API v3 port (default 4433).
	GRPCPort int `yaml:"grpc_port"`
	V3Port   int `yaml:"v3_port"`
}

// Password resolves the group's password from its environment variable
// or file ("" when neither is set).
func (m Miners) Password() (string, error) {
	switch {
	case m.PasswordEnv != "":
		v, ok := os.LookupEnv(m.PasswordEnv)
		if !ok {
			return "", fmt.Errorf("password_env: environment variable %s is not set", m.PasswordEnv)
		}
		return v, nil
	case m.PasswordFile != "":
		b, err := os.ReadFile(m.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("password_file: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimRight(line, "\r"), nil
	}
	return "", nil
}

// Price selects the price source.
type Price struct {
	// Type: synthetic (embedded ERCOT-like model), ercot-csv (NP6-905-CD
	// file), ercot-api (ERCOT's public API, live; see ercot_api) or http
	// (a generic JSON or CSV feed; see http).
	Type  string `yaml:"type"`
	Seed  int64  `yaml:"seed"`
	Path  string `yaml:"path"`
	Point string `yaml:"point"`
	// DAMPath is an ERCOT day-ahead workbook (DAMLZHBSPP .xlsx) the
	// planner uses as its forecast with ercot-csv prices; the synthetic
	// source forecasts with its own model minus the unforeseeable parts.
	DAMPath string `yaml:"dam_path"`
	// ERCOTAPI holds the public API credentials (type ercot-api).
	ERCOTAPI *ERCOTAPI `yaml:"ercot_api"`
	// HTTP describes a generic price feed (type http).
	HTTP *HTTPPrice `yaml:"http"`
}

// ERCOTAPI is an account on ERCOT's public API (apiexplorer.ercot.com):
// every secret comes from an environment variable.
type ERCOTAPI struct {
	UsernameEnv        string `yaml:"username_env"`
	PasswordEnv        string `yaml:"password_env"`
	SubscriptionKeyEnv string `yaml:"subscription_key_env"`
	// Product: spp (NP6-905-CD 15-minute settlement point prices,
	// default) or lmp5 (NP6-788-CD 5-minute LMPs).
	Product string `yaml:"product"`
	BaseURL string `yaml:"base_url"`
}

// HTTPPrice is a generic price feed for other markets.
type HTTPPrice struct {
	URL        string   `yaml:"url"`
	Format     string   `yaml:"format"`
	Items      string   `yaml:"items"`
	Start      string   `yaml:"start"`
	End        string   `yaml:"end"`
	Price      string   `yaml:"price"`
	Interval   Duration `yaml:"interval"`
	TimeFormat string   `yaml:"time_format"`
	TimeZone   string   `yaml:"time_zone"`
	Unit       string   `yaml:"unit"`
	// HeadersEnv maps a request header to the environment variable
	// holding its value (API keys never live in the file).
	HeadersEnv map[string]string `yaml:"headers_env"`
	TTL        Duration          `yaml:"ttl"`
}

// Bitcoin selects the Bitcoin economics.
type Bitcoin struct {
	// Type: demo (embedded post-2024-halving values), static (the values
	// below), daily (Path, a btc_daily.csv file: each day planned with
	// the previous UTC day's values, as known then) or live (Live: height,
	// difficulty and fees from the site's full node or a block explorer,
	// the price from an HTTP feed; stale inputs go to the fail-safe).
	Type            string       `yaml:"type"`
	Path            string       `yaml:"path"`
	PriceUSD        float64      `yaml:"price_usd"`
	Difficulty      float64      `yaml:"difficulty"`
	Height          int64        `yaml:"height"`
	FeesPerBlockBTC float64      `yaml:"fees_per_block_btc"`
	Live            *live.Config `yaml:"live"`
}

// Policy selects and tunes the dispatch policy.
type Policy struct {
	// Type is a canonical policy name: always-on, breakeven,
	// partial-power, fourcp or planner, optionally with +fourcp (the
	// oracle runs only offline).
	Type                string  `yaml:"type"`
	HysteresisUSDPerMWh float64 `yaml:"hysteresis_usd_per_mwh"`
	// StrikeUSDPerMWh, when positive, replaces every machine's breakeven
	// with one fixed curtailment price (breakeven-based policies).
	StrikeUSDPerMWh     float64  `yaml:"strike_usd_per_mwh"`
	MinRun              Duration `yaml:"min_run"`
	MinSleep            Duration `yaml:"min_sleep"`
	PowerAdderUSDPerMWh float64  `yaml:"power_adder_usd_per_mwh"`
	PoolFee             float64  `yaml:"pool_fee"`
	// CurtailAfter and ResumeAfter are strike-price persistence, in
	// intervals (0: act at once).
	CurtailAfter int `yaml:"curtail_after"`
	ResumeAfter  int `yaml:"resume_after"`
	// RampMWPerMin limits how fast the site's draw changes (0: no limit).
	RampMWPerMin float64 `yaml:"ramp_mw_per_min"`
	// Horizon is how far the planner looks ahead (default 24h).
	Horizon Duration `yaml:"horizon"`
}

// Store selects the database.
type Store struct {
	// Type: sqlite.
	Type string `yaml:"type"`
	Path string `yaml:"path"`
}

// HTTP configures the API listener.
type HTTP struct {
	// Listen is host:port (default 127.0.0.1:8080); "off" disables it.
	Listen string `yaml:"listen"`
}

// Poll tunes telemetry polling.
type Poll struct {
	Every       Duration `yaml:"every"`
	Concurrency int      `yaml:"concurrency"`
	StaleAfter  Duration `yaml:"stale_after"`
	Telemetry   Duration `yaml:"store_every"`
}

// Execution tunes how setpoints are applied.
type Execution struct {
	Concurrency int      `yaml:"concurrency"`
	Retries     int      `yaml:"retries"`
	Backoff     Duration `yaml:"backoff"`
	Timeout     Duration `yaml:"timeout"`
}

// Drivers names the miner drivers a site file may select.
func Drivers() []string { return []string{"antminer", "avalon", "braiins", "luxos", "whatsminer"} }

// Load reads, decodes strictly and validates path.
func Load(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, src)
}

// Parse decodes src (named name in errors) strictly, applies defaults and
// validates it.
func Parse(name string, src []byte) (*File, error) {
	f := &File{}
	if err := DecodeStrict("config "+name, src, f); err != nil {
		return nil, err
	}
	ast, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	v := &validator{name: name, file: ast}
	f.defaults()
	f.validate(v)
	if len(v.errs) > 0 {
		return nil, errors.Join(v.errs...)
	}
	return f, nil
}

// Complete applies defaults to a File built in code and validates it, as
// Parse does for a file (errors then carry no line numbers).
func Complete(name string, f *File) error {
	v := &validator{name: name}
	f.defaults()
	f.validate(v)
	return errors.Join(v.errs...)
}

func (f *File) defaults() {
	if f.Site.Interval == 0 {
		f.Site.Interval = Duration(15 * time.Minute)
	}
	if f.Site.OnStalePrice == "" {
		f.Site.OnStalePrice = "hold"
	}
	if f.Site.OnStop == "" {
		f.Site.OnStop = "hold"
	}
	for i := range f.Miners {
		if f.Miners[i].Port == 0 {
			f.Miners[i].Port = 4028
		}
		if f.Miners[i].WebPort == 0 {
			f.Miners[i].WebPort = 80
		}
		if f.Miners[i].GRPCPort == 0 {
			f.Miners[i].GRPCPort = 50051
		}
		if f.Miners[i].V3Port == 0 {
			f.Miners[i].V3Port = 4433
		}
		if f.Miners[i].Timeout == 0 {
			f.Miners[i].Timeout = Duration(3 * time.Second)
		}
	}
	if f.Price.Type == "" {
		f.Price.Type = "synthetic"
	}
	if f.Bitcoin.Type == "" {
		f.Bitcoin.Type = "demo"
	}
	if f.Policy.Type == "" {
		f.Policy.Type = "breakeven"
	}
	if f.Store.Type == "" {
		f.Store.Type = "sqlite"
	}
	if f.Store.Path == "" {
		f.Store.Path = "gridminer.db"
	}
	if f.HTTP.Listen == "" {
		f.HTTP.Listen = "127.0.0.1:8080"
	}
	if f.Poll.Every == 0 {
		f.Poll.Every = Duration(30 * time.Second)
	}
}

type validator struct {
	name string
	file *ast.File
	errs []error
}

// fail records an error for the value at YAML path p ("$.miners[2].addr"),
// naming the line where that key is (or its closest present parent).
func (v *validator) fail(p string, format string, args ...any) {
	line := v.line(p)
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		v.errs = append(v.errs, fmt.Errorf("config %s:%d: %s: %s", v.name, line, p[2:], msg))
		return
	}
	v.errs = append(v.errs, fmt.Errorf("config %s: %s: %s", v.name, p[2:], msg))
}

func (v *validator) line(p string) int {
	if v.file == nil {
		return 0
	}
	for p != "$" && p != "" {
		if yp, err := yaml.PathString(p); err == nil {
			if n, err := yp.FilterFile(v.file); err == nil && n != nil && n.GetToken() != nil {
				return n.GetToken().Position.Line
			}
		}
		p = parent(p)
	}
	return 0
}

func parent(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '.' || p[i] == '[' {
			return p[:i]
		}
	}
	return "$"
}

func (f *File) validate(v *validator) {
	if _, err := failSafe(f.Site.OnStalePrice); err != nil {
		v.fail("$.site.on_stale_price", "%v", err)
	}
	if _, err := failSafe(f.Site.OnStop); err != nil {
		v.fail("$.site.on_stop", "%v", err)
	}
	if f.Site.Interval.D() < time.Minute || time.Hour%f.Site.Interval.D() != 0 {
		v.fail("$.site.interval", "%s: must divide an hour and be at least 1m", f.Site.Interval.D())
	}
	if f.Site.OverheadWPerMachine < 0 || !finite(f.Site.OverheadWPerMachine) {
		v.fail("$.site.overhead_w_per_machine", "%v: must be a finite number >= 0", f.Site.OverheadWPerMachine)
	}
	if f.Site.ImportCapKW < 0 || !finite(f.Site.ImportCapKW) {
		v.fail("$.site.import_cap_kw", "%v: must be a finite number >= 0", f.Site.ImportCapKW)
	}
	if len(f.Miners) == 0 && len(f.Fleet) == 0 {
		v.fail("$.miners", "no miners configured (miners for the live controller, or fleet for plan and backtest)")
	}
	f.validateOffline(v)
	f.validateGrid(v)
	f.validateStratum(v)
	seen := map[string]string{}
	for i, m := range f.Miners {
		p := "$.miners[" + strconv.Itoa(i) + "]"
		if !slices.Contains(Drivers(), m.Driver) {
			v.fail(p+".driver", "%q: unknown driver (supported: %s)", m.Driver, strings.Join(Drivers(), ", "))
		}
		if m.PasswordEnv != "" && m.PasswordFile != "" {
			v.fail(p+".password_file", "give password_env or password_file, not both")
		}
		for key, port := range map[string]int{"web_port": m.WebPort, "grpc_port": m.GRPCPort, "v3_port": m.V3Port} {
			if port < 0 || port > 65535 {
				v.fail(p+"."+key, "%d: want 1 to 65535", port)
			}
		}
		addrs, err := m.Addrs()
		if err != nil {
			at := ".addr"
			if m.Addr == "" {
				at = ".first"
			}
			v.fail(p+at, "%v", err)
			continue
		}
		for _, a := range addrs {
			if prev, dup := seen[a]; dup {
				v.fail(p, "address %s is also in %s", a, prev)
				break
			}
			seen[a] = p[2:]
		}
		if m.Timeout < 0 {
			v.fail(p+".timeout", "%s: must be positive", m.Timeout.D())
		}
	}
	switch f.Price.Type {
	case "synthetic":
	case "ercot-csv":
		if f.Price.Path == "" {
			v.fail("$.price.path", "ercot-csv needs a path to an NP6-905-CD file")
		}
		if f.Price.Point == "" {
			v.fail("$.price.point", "ercot-csv needs a settlement point, e.g. HB_WEST")
		}
	case "ercot-api":
		a := f.Price.ERCOTAPI
		if a == nil || a.UsernameEnv == "" || a.PasswordEnv == "" || a.SubscriptionKeyEnv == "" {
			v.fail("$.price.ercot_api", "ercot-api needs username_env, password_env and subscription_key_env")
		} else if a.Product != "" && a.Product != "spp" && a.Product != "lmp5" {
			v.fail("$.price.ercot_api.product", "%q: want spp or lmp5", a.Product)
		}
		if f.Price.Point == "" {
			v.fail("$.price.point", "ercot-api needs a settlement point, e.g. HB_WEST")
		}
	case "http":
		h := f.Price.HTTP
		if h == nil || h.URL == "" || h.Start == "" || h.Price == "" {
			v.fail("$.price.http", "http needs url, start and price")
		}
	default:
		v.fail("$.price.type", "%q: want synthetic, ercot-csv, ercot-api or http", f.Price.Type)
	}
	switch f.Bitcoin.Type {
	case "daily":
		if f.Bitcoin.Path == "" {
			v.fail("$.bitcoin.path", "daily needs a path to a btc_daily.csv file")
		}
	case "demo":
	case "static":
		if !(f.Bitcoin.PriceUSD > 0) || !finite(f.Bitcoin.PriceUSD) {
			v.fail("$.bitcoin.price_usd", "%v: must be a positive number", f.Bitcoin.PriceUSD)
		}
		if !(f.Bitcoin.Difficulty > 0) || !finite(f.Bitcoin.Difficulty) {
			v.fail("$.bitcoin.difficulty", "%v: must be a positive number", f.Bitcoin.Difficulty)
		}
		if f.Bitcoin.Height <= 0 {
			v.fail("$.bitcoin.height", "%d: must be a positive block height", f.Bitcoin.Height)
		}
		if f.Bitcoin.FeesPerBlockBTC < 0 || !finite(f.Bitcoin.FeesPerBlockBTC) {
			v.fail("$.bitcoin.fees_per_block_btc", "%v: must be >= 0", f.Bitcoin.FeesPerBlockBTC)
		}
	case "live":
		if f.Bitcoin.Live == nil {
			v.fail("$.bitcoin.live", "live needs a live: section (chain: and price:)")
		} else if err := f.Bitcoin.Live.Validate(); err != nil {
			v.fail("$.bitcoin.live", "%v", err)
		}
	default:
		v.fail("$.bitcoin.type", "%q: want demo, static, daily or live", f.Bitcoin.Type)
	}
	if err := dispatch.Known(f.Policy.Type); err != nil {
		v.fail("$.policy.type", "%v", err)
	} else if _, err := dispatch.New(f.Policy.Type, dispatch.Config{}); err != nil && len(f.Miners) > 0 {
		v.fail("$.policy.type", "%v; the live controller needs another policy", err)
	}
	if f.Policy.StrikeUSDPerMWh < 0 || !finite(f.Policy.StrikeUSDPerMWh) {
		v.fail("$.policy.strike_usd_per_mwh", "%v: must be >= 0 (0: each machine's breakeven)", f.Policy.StrikeUSDPerMWh)
	}
	if f.Policy.HysteresisUSDPerMWh < 0 || !finite(f.Policy.HysteresisUSDPerMWh) {
		v.fail("$.policy.hysteresis_usd_per_mwh", "%v: must be >= 0", f.Policy.HysteresisUSDPerMWh)
	}
	if f.Policy.MinRun < 0 {
		v.fail("$.policy.min_run", "must not be negative")
	}
	if f.Policy.MinSleep < 0 {
		v.fail("$.policy.min_sleep", "must not be negative")
	}
	if !finite(f.Policy.PowerAdderUSDPerMWh) {
		v.fail("$.policy.power_adder_usd_per_mwh", "must be finite")
	}
	if f.Policy.PoolFee < 0 || f.Policy.PoolFee >= 1 || !finite(f.Policy.PoolFee) {
		v.fail("$.policy.pool_fee", "%v: must be a fraction in [0, 1)", f.Policy.PoolFee)
	}
	if f.Store.Type != "sqlite" {
		v.fail("$.store.type", "%q: want sqlite", f.Store.Type)
	}
	if f.HTTP.Listen != "off" {
		if _, _, err := net.SplitHostPort(f.HTTP.Listen); err != nil {
			v.fail("$.http.listen", "%q: want host:port or off", f.HTTP.Listen)
		}
	}
	if f.Poll.Every.D() < time.Second {
		v.fail("$.poll.every", "%s: must be at least 1s", f.Poll.Every.D())
	}
	if f.Poll.Concurrency < 0 {
		v.fail("$.poll.concurrency", "must not be negative")
	}
	if f.Execute.Concurrency < 0 {
		v.fail("$.execute.concurrency", "must not be negative")
	}
}

// Addrs expands the group to host:port addresses.
func (m Miners) Addrs() ([]string, error) {
	switch {
	case m.Addr != "" && (m.First != "" || m.Count != 0):
		return nil, errors.New("give either addr or first+count, not both")
	case m.Addr != "":
		if _, _, err := net.SplitHostPort(m.Addr); err != nil {
			return nil, fmt.Errorf("%q: want host:port", m.Addr)
		}
		return []string{m.Addr}, nil
	case m.First == "":
		return nil, errors.New("give addr (one miner) or first and count (a block)")
	}
	first, err := netip.ParseAddr(m.First)
	if err != nil || !first.Is4() {
		return nil, fmt.Errorf("first %q: want an IPv4 address", m.First)
	}
	if m.Count <= 0 || m.Count > 1_000_000 {
		return nil, fmt.Errorf("count %d: want 1 to 1,000,000", m.Count)
	}
	if m.Port <= 0 || m.Port > 65535 {
		return nil, fmt.Errorf("port %d: want 1 to 65535", m.Port)
	}
	ips, err := fleet.AddrRange(first, m.Count)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = netip.AddrPortFrom(ip, uint16(m.Port)).String()
	}
	return out, nil
}

func failSafe(s string) (string, error) {
	switch s {
	case "hold", "sleep", "run":
		return s, nil
	}
	return "", fmt.Errorf("%q: want hold, sleep or run", s)
}

func finite(x float64) bool { return x-x == 0 }

// Duration is a time.Duration written as Go duration text ("15m", "1h30m").
type Duration time.Duration

// UnmarshalYAML parses Go duration text.
func (d *Duration) UnmarshalYAML(b []byte) error {
	var s string
	if err := yaml.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return badDuration(s)
	}
	*d = Duration(v)
	return nil
}

// DecodeStrict decodes YAML src (name prefixes its errors) into v, rejecting
// unknown keys. Errors carry the file name and line. Malformed input that
// makes the YAML library itself fail (it panics on some inputs) is
// reported as an error, never a crash.
func DecodeStrict(name string, src []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: malformed YAML (the decoder failed: %v)", name, r)
		}
	}()
	if err := yaml.NewDecoder(bytes.NewReader(src), yaml.Strict()).Decode(v); err != nil {
		var bd badDuration
		if errors.As(err, &bd) {
			for _, tk := range lexer.Tokenize(string(src)) {
				if tk.Value == string(bd) && tk.Position != nil {
					return fmt.Errorf("%s:%d: %w", name, tk.Position.Line, bd)
				}
			}
		}
		return fmt.Errorf("%s: %s", name, yaml.FormatError(err, false, true))
	}
	return nil
}

// badDuration is a duration that did not parse; Parse finds its line
// because the YAML decoder does not position errors from unmarshalers.
type badDuration string

func (b badDuration) Error() string {
	return fmt.Sprintf("%q: want a duration such as 30s, 15m or 1h", string(b))
}

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
