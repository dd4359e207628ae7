package avalonsim_test

import (
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridminer/gridminer/internal/clock"
	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/miner/minertest"
	"github.com/gridminer/gridminer/internal/minersim"
	"github.com/gridminer/gridminer/internal/minersim/avalonsim"
)

var t0 = time.Date(2024, 6, 10, 12, 0, 0, 0, time.UTC)

func start(t *testing.T) (*clock.Manual, *minersim.Miner) {
	t.Helper()
	clk := clock.NewManual(t0)
	fl := minertest.StartFleet(t, minersim.Config{
		Miners:   []minersim.MinerSpec{{Model: "S19j Pro", Seed: 3, Dialect: avalonsim.Name}},
		Dialects: map[string]minersim.Dialect{avalonsim.Name: avalonsim.New()},
		Clock:    clk,
	})
	u, _ := fl.Miner(fl.Addrs()[0])
	return clk, u
}

// ask sends one request and returns the whole reply.
func ask(t *testing.T, u *minersim.Miner, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", u.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || b[len(b)-1] != 0 {
		t.Fatalf("reply to %q not NUL-terminated: %q", req, b)
	}
	return string(b[:len(b)-1])
}

func TestReplies(t *testing.T) {
	_, u := start(t)
	when := strconv.FormatInt(t0.Unix(), 10)
	tests := []struct {
		req  string
		want string // regexp
	}{
		{"version", `^STATUS=S,When=` + when + `,Code=22,Msg=CGMiner versions,Description=cgminer 4\.11\.1\|VERSION,CGMiner=4\.11\.1,API=3\.7,.*PROD=AvalonMiner S19j Pro,MODEL=S19j Pro,.*\|$`},
		{`{"command":"version"}`, `^\{"STATUS":\[\{"STATUS":"S","When":` + when + `,"Code":22,"Msg":"CGMiner versions","Description":"cgminer 4\.11\.1"\}\],"VERSION":\[\{"CGMiner":"4\.11\.1",.*\}\],"id":1\}$`},
		{"summary", `^STATUS=S,When=` + when + `,Code=11,Msg=Summary,.*\|SUMMARY,Elapsed=0,MHS av=\d+\.\d\d,MHS 30s=\d+\.\d\d,.*\|$`},
		{"estats", `\|STATS=0,ID=AVA100,Elapsed=0,.*MM ID0=Ver\[S19j Pro-sim-[^]]*\] .*SYSTEMSTATU\[Work: In Work, Hash Board: 3 \] .*PS\[0 1196 1340 \d+ \d+ 1340\] .*SoftOFF\[0\] .*MPO\[\d+\] .*WORKMODE\[0\] WALLPOWER\[\d+\],MM Count=1,.*\|$`},
		{"devs", `\|ASC=0,Name=AVA10,ID=0,Enabled=Y,Status=Alive,`},
		{"pools", `\|POOL=0,URL=stratum\+tcp://`},
		{"ascset|0,help", `^STATUS=I,When=\d+,Code=118,Msg=ASC 0 set info: .*softon\|softoff`},
		{"ascset|0,workmode,255", `Code=118,Msg=ASC 0 set info: WORKMODE\[0\],`},
		{"ascset|0,hashpower", `Code=118,Msg=ASC 0 set info: PS\[0 1196 1340 \d+ \d+ 1340\],`},
		{"ascset|0,softoff,1:x", `^STATUS=E,When=\d+,Code=120,Msg=ASC 0 set failed: invalid softoff parameter,`},
		{"ascset|0,bogus", `Code=120,Msg=ASC 0 set failed: unknown option bogus,`},
		{"ascset|0", `Code=116,Msg=Missing option after ASC number,`},
		{"ascset|1,softoff", `^STATUS=E,.*Msg=Invalid ASC id 1`},
		{"nonsense", `^STATUS=E,When=\d+,Code=14,Msg=Invalid command,`},
		{`{"command":"summary+estats"}`, `^\{"summary":\[\{"STATUS":\[\{"STATUS":"S",.*"SUMMARY":\[.*\],"id":1\}\],"estats":\[\{"STATUS":.*"STATS":\[.*\],"id":1\}\],"id":1\}$`},
		{`{"command":"estats+ascset"}`, `"ascset":\[\{"STATUS":\[\{"STATUS":"E","When":\d+,"Code":45,"Msg":"Access denied to 'ascset' command"`},
	}
	for _, tt := range tests {
		t.Run(tt.req, func(t *testing.T) {
			got := ask(t, u, tt.req)
			if !regexp.MustCompile(tt.want).MatchString(got) {
				t.Errorf("reply to %q:\n got %q\nwant match %s", tt.req, got, tt.want)
			}
		})
	}
}

func TestScheduledSoftOffAndOn(t *testing.T) {
	clk, u := start(t)
	ts := t0.Unix() + 5
	got := ask(t, u, "ascset|0,softoff,1:"+strconv.FormatInt(ts, 10))
	if want := "STATUS=I,When=" + strconv.FormatInt(t0.Unix(), 10) + ",Code=118,Msg=ASC 0 set info: success softoff:" + strconv.FormatInt(ts, 10) + ",Description=cgminer 4.11.1|"; got != want {
		t.Fatalf("softoff reply\n got %q\nwant %q", got, want)
	}
	if st := u.Snapshot().State; st != miner.StateMining {
		t.Errorf("before the timestamp: %s, want mining", st)
	}
	clk.Advance(4 * time.Second)
	ask(t, u, "summary")
	if st := u.Snapshot().State; st != miner.StateMining {
		t.Errorf("1 s before the timestamp: %s, want mining", st)
	}
	clk.Advance(time.Second)
	if e := ask(t, u, "estats"); !strings.Contains(e, "SoftOFF[1]") || !strings.Contains(e, "Work: In Idle") {
		t.Errorf("estats at the timestamp lacks SoftOFF[1] / In Idle: %q", e)
	}
	if st := u.Snapshot().State; st != miner.StateRampingDown {
		t.Errorf("at the timestamp: %s, want ramping_down", st)
	}
	clk.Advance(time.Minute)
	e := ask(t, u, "estats")
	if !strings.Contains(e, "PS[0 1196 0 0 0 1340]") || !strings.Contains(e, "GHSspd[0.00]") {
		t.Errorf("asleep estats: %q", e)
	}
	// A softon in the past runs at once.
	ask(t, u, "ascset|0,softon,1:"+strconv.FormatInt(t0.Unix(), 10))
	if st := u.Snapshot().State; st != miner.StateWaking {
		t.Errorf("after softon: %s, want waking", st)
	}
	clk.Advance(time.Minute)
	if e := ask(t, u, "estats"); !strings.Contains(e, "SoftOFF[0]") || !strings.Contains(e, "Work: In Work") {
		t.Errorf("awake estats: %q", e)
	}
	if st := u.Snapshot().State; st != miner.StateMining {
		t.Errorf("after the wake ramp: %s, want mining", st)
	}
}

func TestWorkmodeAfterReboot(t *testing.T) {
	clk, u := start(t)
	def := u.ProfileIndex()
	if got := ask(t, u, "ascset|0,workmode,1"); !strings.Contains(got, "WORKMODE[1]") {
		t.Fatalf("workmode reply %q", got)
	}
	if u.ProfileIndex() != def {
		t.Error("workmode took effect before the reboot")
	}
	ask(t, u, "ascset|0,reboot,0")
	if u.ProfileIndex() != def+1 {
		t.Errorf("profile %d after reboot, want %d", u.ProfileIndex(), def+1)
	}
	if st := u.Snapshot().State; st != miner.StateRampingDown {
		t.Errorf("rebooting: %s", st)
	}
	clk.Advance(avalonsim.RebootTime + 2*time.Minute)
	ask(t, u, "estats")
	clk.Advance(time.Minute)
	if st := u.Snapshot().State; st != miner.StateMining {
		t.Errorf("after reboot: %s, want mining", st)
	}
	if got := ask(t, u, "ascset|0,workmode,255"); !strings.Contains(got, "WORKMODE[1]") {
		t.Errorf("workmode query %q", got)
	}
}

func TestHashpowerOffNeedsReboot(t *testing.T) {
	clk, u := start(t)
	ask(t, u, "ascset|0,hashpower,0")
	clk.Advance(time.Minute)
	ask(t, u, "ascset|0,softon")
	clk.Advance(time.Minute)
	if st := u.Snapshot().State; st != miner.StateSleeping {
		t.Errorf("softon after hashpower,0: %s, want sleeping", st)
	}
}

func TestDeadBoard(t *testing.T) {
	_, u := start(t)
	u.SetFault(minersim.FaultDeadBoard)
	e := ask(t, u, "estats")
	if !regexp.MustCompile(`MGHS\[0\.00 \d+\.\d\d \d+\.\d\d\]`).MatchString(e) || !strings.Contains(e, "HASHS[1 0 0]") {
		t.Errorf("dead board 0 not shown: %q", e)
	}
}

func FuzzServeRPC(f *testing.F) {
	for _, s := range []string{"estats", `{"command":"summary+estats"}`, "ascset|0,softoff,1:1718020805", "ascset|0,workmode,1", `{"command":"ascset","parameter":"0,softon,1:5"}`, "ascset|0,reboot,0", "{", "|"} {
		f.Add([]byte(s))
	}
	clk := clock.NewManual(t0)
	d := avalonsim.New()
	fl, err := minersim.New(minersim.Config{
		Miners:   []minersim.MinerSpec{{Model: "S21", Seed: 1, Dialect: avalonsim.Name}},
		Dialects: map[string]minersim.Dialect{avalonsim.Name: d},
		Clock:    clk,
	})
	if err != nil {
		f.Fatal(err)
	}
	u := fl.Miners()[0]
	f.Fuzz(func(t *testing.T, req []byte) {
		out := d.ServeRPC(u, req, nil)
		if len(out) == 0 || out[len(out)-1] != 0 {
			t.Fatalf("reply to %q not NUL-terminated", req)
		}
		clk.Advance(time.Second)
	})
}
