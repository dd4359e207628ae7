package antminersim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/minersim"
)

// noAnswerHold bounds how long a no-answer fault keeps a connection open.
const noAnswerHold = 10 * time.Minute

// webHandler routes each request to the miner whose address the client
// dialled and applies that miner's fault.
func (d *Dialect) webHandler(ctx context.Context, f *minersim.Fleet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		la, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		u, ok := f.MinerAt(la)
		if !ok {
			http.NotFound(w, r)
			return
		}
		fault := u.Fault()
		switch {
		case fault == minersim.FaultRefuse:
			hijack(w, func(c net.Conn) {
				if tc, ok := c.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
			})
			return
		case fault == minersim.FaultNoAnswer:
			hijack(w, func(c net.Conn) {
				stop := context.AfterFunc(ctx, func() { c.Close() })
				defer stop()
				c.SetDeadline(time.Now().Add(noAnswerHold))
				io.Copy(io.Discard, c)
			})
			return
		case fault == minersim.FaultGarbage:
			hijack(w, func(c net.Conn) {
				c.Write([]byte("\x17\x03\x03garbage{{not-http]]\xff\xfe\r\n\r\n"))
			})
			return
		case fault.Delay() > 0:
			t := time.NewTimer(fault.Delay())
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		rec := &recorder{h: http.Header{}}
		if d.authorize(rec, r) {
			d.route(rec, r, u)
		}
		if fault == minersim.FaultTruncate {
			hijack(w, func(c net.Conn) {
				var b bytes.Buffer
				b.WriteString("HTTP/1.1 " + strconv.Itoa(rec.code()) + " " + http.StatusText(rec.code()) + "\r\n")
				b.WriteString("Content-Type: " + rec.h.Get("Content-Type") + "\r\n")
				b.WriteString("Content-Length: " + strconv.Itoa(rec.body.Len()) + "\r\n\r\n")
				b.Write(rec.body.Bytes()[:rec.body.Len()/2])
				c.Write(b.Bytes())
			})
			return
		}
		for k, v := range rec.h {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(rec.body.Len()))
		w.WriteHeader(rec.code())
		w.Write(rec.body.Bytes())
	})
}

// hijack takes over the connection, runs fn on it and closes it.
func hijack(w http.ResponseWriter, fn func(net.Conn)) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	c, _, err := hj.Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	fn(c)
}

// recorder buffers a response so that faults can cut it short.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// route serves the CGI pages of an authorised request.
func (d *Dialect) route(w http.ResponseWriter, r *http.Request, u *minersim.Miner) {
	s := d.unitOf(u)
	switch {
	case r.URL.Path == "/cgi-bin/get_miner_conf.cgi" && r.Method == http.MethodGet:
		s.mu.Lock()
		conf := append([]byte(nil), s.conf...)
		s.mu.Unlock()
		writeJSON(w, conf)
	case r.URL.Path == "/cgi-bin/set_miner_conf.cgi" && r.Method == http.MethodPost:
		d.setConf(w, r, u, s)
	case r.URL.Path == "/cgi-bin/get_system_info.cgi" && r.Method == http.MethodGet:
		d.systemInfo(w, r, u)
	case r.URL.Path == "/cgi-bin/stats.cgi" && r.Method == http.MethodGet:
		d.statsCGI(w, u, s)
	case r.URL.Path == "/cgi-bin/summary.cgi" && r.Method == http.MethodGet:
		d.summaryCGI(w, u, s)
	case r.URL.Path == "/" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><head><title>Antminer</title></head><body>Antminer " + u.Model().Type + "</body></html>\n"))
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// Replies of set_miner_conf.cgi. The error is the MiningOS mock's
// (tetherto/miningos-wrk-miner-antminer mock/routers/base.js); the success
// reply is ASSUMED by analogy with its set_network_conf/passwd replies
// (N000/P000 "OK!").
const (
	confOK  = `{"stats":"success","code":"M000","msg":"OK!"}`
	confBad = `{"stats":"error","code":"M001","msg":"Invalid pool!"}`
)

// setConf stores a written configuration and applies its miner-mode.
func (d *Dialect) setConf(w http.ResponseWriter, r *http.Request, u *minersim.Miner, s *unit) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxConf+1))
	if err != nil {
		return
	}
	ms, err := parseObject(body)
	if err != nil {
		writeJSON(w, []byte(confBad))
		return
	}
	if v, ok := lookup(ms, "pools"); !ok || !isArray(v) {
		writeJSON(w, []byte(confBad))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mode := s.mode
	if v, ok := lookup(ms, "miner-mode"); ok {
		if mode, ok = modeOf(v); !ok {
			writeJSON(w, []byte(confBad))
			return
		}
	}
	ms = set(ms, "bitmain-work-mode", json.RawMessage(strconv.Quote(strconv.Itoa(mode))))
	s.conf = render(ms)
	d.setMode(u, s, mode)
	writeJSON(w, []byte(confOK))
}

func isArray(v json.RawMessage) bool {
	var a []json.RawMessage
	return json.Unmarshal(v, &a) == nil
}

func (d *Dialect) systemInfo(w http.ResponseWriter, r *http.Request, u *minersim.Miner) {
	id := u.Identity()
	host, _, _ := net.SplitHostPort(u.Addr())
	b, _ := json.Marshal(struct {
		MinerType  string `json:"minertype"`
		NetType    string `json:"nettype"`
		NetDevice  string `json:"netdevice"`
		MAC        string `json:"macaddr"`
		Hostname   string `json:"hostname"`
		IP         string `json:"ipaddress"`
		Netmask    string `json:"netmask"`
		Gateway    string `json:"gateway"`
		DNS        string `json:"dnsservers"`
		SystemMode string `json:"system_mode"`
		Kernel     string `json:"system_kernel_version"`
		FSVersion  string `json:"system_filesystem_version"`
		FWType     string `json:"firmware_type"`
		Serial     string `json:"serinum"`
	}{
		u.Model().Type, "DHCP", "eth0", id.MAC, id.Hostname, host, "255.255.255.0", "", "",
		"GNU/Linux", "Linux 4.9.113 #1 SMP PREEMPT Thu Apr 20 11:40:02 CST 2023", compileTime, "Release", id.Serial,
	})
	writeJSON(w, b)
}

// cgiStatus is the STATUS object of the CGI pages (an object, not an
// array as on the RPC port).
type cgiStatus struct {
	Status     string `json:"STATUS"`
	When       int64  `json:"when"`
	Msg        string `json:"Msg"`
	APIVersion string `json:"api_version"`
}

type cgiInfo struct {
	MinerVersion string `json:"miner_version"`
	CompileTime  string `json:"CompileTime"`
	Type         string `json:"type"`
}

func (d *Dialect) statsCGI(w http.ResponseWriter, u *minersim.Miner, s *unit) {
	l := d.live(u, s)
	s.mu.Lock()
	mode := s.mode
	s.mu.Unlock()
	m := u.Model()
	pr := u.Profiles()[u.ProfileIndex()]
	type chain struct {
		Index     int     `json:"index"`
		FreqAvg   int     `json:"freq_avg"`
		RateIdeal float64 `json:"rate_ideal"`
		RateReal  float64 `json:"rate_real"`
		ASICNum   int     `json:"asic_num"`
		TempPIC   []int   `json:"temp_pic"`
		TempPCB   []int   `json:"temp_pcb"`
		TempChip  []int   `json:"temp_chip"`
		HW        uint64  `json:"hw"`
		SN        string  `json:"sn"`
	}
	type stats struct {
		Elapsed   int64   `json:"elapsed"`
		Rate5s    float64 `json:"rate_5s"`
		Rate30m   float64 `json:"rate_30m"`
		RateAvg   float64 `json:"rate_avg"`
		RateIdeal float64 `json:"rate_ideal"`
		RateUnit  string  `json:"rate_unit"`
		ChainNum  int     `json:"chain_num"`
		FanNum    int     `json:"fan_num"`
		Fan       []int   `json:"fan"`
		HWPTotal  float64 `json:"hwp_total"`
		MinerMode int     `json:"miner-mode"`
		FreqLevel int     `json:"freq-level"`
		Chain     []chain `json:"chain"`
	}
	out := struct {
		Status cgiStatus `json:"STATUS"`
		Info   cgiInfo   `json:"INFO"`
		Stats  []stats   `json:"STATS"`
	}{
		Status: cgiStatus{"S", l.snap.Time.Unix(), "stats", "1.0.0"},
		Info:   cgiInfo{minerVersion, compileTime, m.Type},
		Stats:  []stats{},
	}
	if mode != ModeSleep {
		st := stats{
			Elapsed: l.elapsed, Rate5s: round2(l.ghs), Rate30m: round2(l.ghs), RateAvg: round2(l.ghs),
			RateIdeal: round2(l.ideal), RateUnit: "GH/s", ChainNum: m.Boards, FanNum: len(l.snap.FanRPM),
			Fan: l.snap.FanRPM, MinerMode: mode, FreqLevel: 100,
		}
		chip, pcb := int(l.snap.ChipTempC+0.5), int(l.snap.BoardTempC+0.5)
		for i := range m.Boards {
			rate := 0.0
			if l.snap.BoardsActive > 0 && !(l.snap.Fault == minersim.FaultDeadBoard && i == 0) && l.snap.State != miner.StateSleeping {
				rate = round2(l.ghs / float64(l.snap.BoardsActive))
			}
			st.Chain = append(st.Chain, chain{
				Index: i, FreqAvg: pr.FreqMHz, RateIdeal: round2(l.ideal / float64(m.Boards)), RateReal: rate,
				ASICNum: m.ChipsPerBoard, TempPIC: []int{pcb - 10, pcb - 10, pcb - 6, pcb - 6},
				TempPCB: []int{pcb - 4, pcb - 4, pcb, pcb}, TempChip: []int{chip - 4, chip - 4, chip, chip},
				SN: u.Identity().Serial + "-" + strconv.Itoa(i),
			})
		}
		out.Stats = append(out.Stats, st)
	}
	b, _ := json.Marshal(out)
	writeJSON(w, b)
}

func (d *Dialect) summaryCGI(w http.ResponseWriter, u *minersim.Miner, s *unit) {
	l := d.live(u, s)
	s.mu.Lock()
	mode := s.mode
	s.mu.Unlock()
	type summary struct {
		Elapsed   int64   `json:"elapsed"`
		Rate5s    float64 `json:"rate_5s"`
		Rate30m   float64 `json:"rate_30m"`
		RateAvg   float64 `json:"rate_avg"`
		RateIdeal float64 `json:"rate_ideal"`
		RateUnit  string  `json:"rate_unit"`
		HWAll     uint64  `json:"hw_all"`
		BestShare uint64  `json:"bestshare"`
	}
	out := struct {
		Status  cgiStatus `json:"STATUS"`
		Info    cgiInfo   `json:"INFO"`
		Summary []summary `json:"SUMMARY"`
	}{
		Status:  cgiStatus{"S", l.snap.Time.Unix(), "summary", "1.0.0"},
		Info:    cgiInfo{minerVersion, compileTime, u.Model().Type},
		Summary: []summary{},
	}
	if mode != ModeSleep {
		out.Summary = append(out.Summary, summary{
			Elapsed: l.elapsed, Rate5s: round2(l.ghs), Rate30m: round2(l.ghs), RateAvg: round2(l.ghs),
			RateIdeal: round2(l.ideal), RateUnit: "GH/s", HWAll: l.acc / 500, BestShare: l.acc * 65536 * 3,
		})
	}
	b, _ := json.Marshal(out)
	writeJSON(w, b)
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
