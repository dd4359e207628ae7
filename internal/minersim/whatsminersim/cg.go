package whatsminersim

import (
	"encoding/json"
	"math"
	"strings"

	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/minersim"
)

// cgStatus is a cgminer-style STATUS entry, which btminer uses for the
// commands it inherits from cgminer (summary, edevs, devdetails, ...).
type cgStatus struct {
	Status      string `json:"STATUS"`
	When        int64  `json:"When"`
	Code        int    `json:"Code"`
	Msg         string `json:"Msg"`
	Description string `json:"Description"`
}

// reading is one consistent reading of a miner for a reply.
type reading struct {
	snap    minersim.Snapshot
	limit   float64
	factory float64 // TH/s at the default profile
	uptime  int64
	boards  int
}

func (d *Dialect) read(u *minersim.Miner) reading {
	snap := u.Snapshot()
	d.mu.Lock()
	limit := d.state(u).limitW(u)
	d.mu.Unlock()
	def := u.Profiles()[u.DefaultProfileIndex()]
	return reading{
		snap: snap, limit: limit, factory: float64(def.Hashrate),
		uptime: int64(snap.Time.Sub(u.Started()).Seconds()), boards: u.Model().Boards,
	}
}

// boardHash returns board i's hashrate (TH/s) and whether it hashes.
func (r reading) boardHash(i int) (float64, bool) {
	if r.snap.BoardsActive == 0 || i >= r.snap.BoardsActive {
		return 0, false
	}
	return float64(r.snap.Hashrate) / float64(r.snap.BoardsActive), true
}

func fan(r reading, i int) int {
	if i < len(r.snap.FanRPM) {
		return r.snap.FanRPM[i]
	}
	return 0
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// section returns the cgminer-style section name and body for cmd.
func (d *Dialect) section(u *minersim.Miner, r reading, cmd string) (string, any, bool) {
	s := r.snap
	switch cmd {
	case "summary":
		mhs := math.Round(float64(s.Hashrate) * 1e6)
		return "SUMMARY", []map[string]any{{
			"Elapsed": r.uptime, "MHS av": mhs, "MHS 5s": mhs, "MHS 1m": mhs, "MHS 5m": mhs, "MHS 15m": mhs,
			"HS RT": mhs, "Accepted": s.Accepted, "Rejected": s.Rejected,
			"Temperature": round1(s.BoardTempC), "freq_avg": 0, "Fan Speed In": fan(r, 0), "Fan Speed Out": fan(r, 1),
			"Power": math.Round(float64(s.Power)), "Power Rate": round1(float64(s.Power) / math.Max(float64(s.Hashrate), 1)),
			"Uptime": r.uptime, "Hash Stable": s.State == miner.StateMining,
			"Target MHS": math.Round(float64(s.ProfileHashrate) * 1e6), "Env Temp": 25.0,
			"Power Mode": "Normal", "Factory GHS": math.Round(r.factory * 1e3), "Power Limit": r.limit,
			"Chip Temp Min": round1(s.BoardTempC), "Chip Temp Max": round1(s.ChipTempC), "Chip Temp Avg": round1((s.ChipTempC + s.BoardTempC) / 2),
		}}, true
	case "edevs", "devs":
		devs := make([]map[string]any, r.boards)
		upfreq := 1
		if s.State == miner.StateWaking {
			upfreq = 0
		}
		for i := range devs {
			h, ok := r.boardHash(i)
			status := "Alive"
			if !ok && s.State != miner.StateSleeping && s.State != miner.StateRampingDown {
				status = "Dead"
			}
			devs[i] = map[string]any{
				"ASC": i, "Slot": i, "Enabled": "Y", "Status": status,
				"Temperature": round1(s.BoardTempC), "Chip Temp Max": round1(s.ChipTempC),
				"MHS av": math.Round(h * 1e6), "MHS 5s": math.Round(h * 1e6),
				"Factory GHS":     math.Round(r.factory * 1e3 / float64(r.boards)),
				"Upfreq Complete": upfreq, "Effective Chips": u.Model().ChipsPerBoard,
				"PCB SN": u.Identity().Serial + "-" + string(rune('0'+i)),
			}
		}
		return strings.ToUpper(cmd), devs, true
	case "devdetails":
		dd := make([]map[string]any, r.boards)
		for i := range dd {
			dd[i] = map[string]any{"DEVDETAILS": i, "Name": "SM", "ID": i, "Driver": "bitmicro", "Kernel": "", "Model": u.Model().Type}
		}
		return "DEVDETAILS", dd, true
	}
	return "", nil, false
}

func (d *Dialect) cgReply(u *minersim.Miner, cmd string) any {
	r := d.read(u)
	name, body, _ := d.section(u, r, cmd)
	return map[string]any{
		"STATUS": []cgStatus{{Status: "S", When: u.Now().Unix(), Code: 11, Msg: name}},
		name:     body, "id": 1,
	}
}

// serveJoined answers "a+b": each report command's reply in a one-element
// array under its name; get_* and status cannot be joined (API document).
func (d *Dialect) serveJoined(u *minersim.Miner, cmds string, out []byte) []byte {
	r := d.read(u)
	all := map[string]any{}
	for _, c := range strings.Split(cmds, "+") {
		name, body, ok := d.section(u, r, c)
		if !ok {
			all[c] = []any{btReply("E", 14, "invalid cmd", u)}
			continue
		}
		all[c] = []any{map[string]any{
			"STATUS": []cgStatus{{Status: "S", When: u.Now().Unix(), Code: 11, Msg: name}},
			name:     body, "id": 1,
		}}
	}
	b, _ := json.Marshal(all)
	return append(out, b...)
}
