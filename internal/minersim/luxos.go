package minersim

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/miner"
)

// Firmware identity the simulated miners report.
const (
	luxVersion     = "2024.5.1.155747-f6ec4c08"
	luxDescription = "LUXminer " + luxVersion
	luxMiner       = "2024.5.1.155747"
	luxCompileTime = "Wed May  1 15:57:47 UTC 2024"
	luxBMMiner     = "1.0.0"
	luxAPI         = "3.7"
)

// Status codes. Those marked "chosen" are not in the LuxOS documents we
// have; the others come from cgminer's api.c or the LuxOS docs/fixtures.
const (
	codePools          = 7
	codeDevs           = 9
	codeSummary        = 11
	codeInvalidCmd     = 14
	codeVersion        = 22
	codeInvalidJSON    = 23
	codeMissingCmd     = 24
	codeConfig         = 33
	codeAccessDenied   = 45
	codeStats          = 70
	codeTemps          = 201
	codeFans           = 202
	codePower          = 311
	codeSessionCreated = 316
	codeSessionExists  = 317
	codeSessionInvalid = 318
	codeSessionInfo    = 319
	codeLogoff         = 320 // chosen
	codeProfileSet     = 321
	codeProfileInvalid = 322 // chosen
	codeProfiles       = 327
	codeCurtail        = 335
	codeCurtailInvalid = 336 // chosen
	codeATM            = 339
	codeATMSet         = 340
	codeATMInvalid     = 341 // chosen
)

// joinable reports whether cmd is a report command that may be joined with
// '+'. Writes and session commands are not.
func joinable(cmd string) bool {
	switch cmd {
	case "logon", "logoff", "curtail", "profileset", "atmset":
		return false
	}
	return true
}

// handle writes the reply of one command for miner u at time t; callers
// hold u.mu and have advanced u to t.
func (u *Miner) handle(r *reply, t time.Time, cmd, param string) {
	switch cmd {
	case "version":
		u.replyVersion(r)
	case "summary":
		u.replySummary(r, t)
	case "stats":
		u.replyStats(r, t)
	case "pools":
		u.replyPools(r, t)
	case "power":
		u.replyPower(r, t)
	case "profiles":
		u.replyProfiles(r)
	case "config":
		u.replyConfig(r, t)
	case "devs":
		u.replyDevs(r, t)
	case "temps":
		u.replyTemps(r)
	case "fans":
		u.replyFans(r, t)
	case "atm":
		u.replyATM(r)
	case "session":
		u.replySession(r, t)
	case "logon":
		u.cmdLogon(r, t)
	case "logoff":
		u.cmdLogoff(r, t, param)
	case "curtail":
		u.cmdCurtail(r, t, param)
	case "profileset":
		u.cmdProfileSet(r, t, param)
	case "atmset":
		u.cmdATMSet(r, t, param)
	default:
		r.status('E', codeInvalidCmd, "Invalid command")
	}
}

func (u *Miner) replyVersion(r *reply) {
	r.status('S', codeVersion, "LUXminer versions")
	e := r.e
	r.section("VERSION")
	r.item("VERSION")
	e.str("API", luxAPI)
	e.str("BMMiner", luxBMMiner)
	e.str("CompileTime", luxCompileTime)
	e.str("LUXminer", luxVersion)
	e.str("Miner", luxMiner)
	e.str("Type", u.model.Type)
	r.endItem()
	r.endSection()
}

func (u *Miner) elapsed(t time.Time) int64 { return int64(t.Sub(u.started) / time.Second) }

func (u *Miner) replySummary(r *reply, t time.Time) {
	r.status('S', codeSummary, "Summary")
	e := r.e
	_, h := u.powerHash(t)
	acc, rej := u.accepted(), u.rejected()
	el := u.elapsed(t)
	mins := math.Max(float64(el)/60, 1.0/60)
	getworks := el/30 + 1
	hw := acc / 400
	r.section("SUMMARY")
	r.item("SUMMARY")
	e.uint("Accepted", acc)
	e.uint("Best Share", acc*shareDiff*37/10+uint64(u.index))
	e.uint("Best Session Share", acc*shareDiff*37/10+uint64(u.index))
	e.uint("Difficulty Accepted", acc*shareDiff)
	e.uint("Difficulty Rejected", rej*shareDiff)
	e.int("Difficulty Stale", 0)
	e.int("Discarded", getworks*137)
	e.int("Elapsed", el)
	e.int("Found Blocks", 0)
	e.flt("GHS 30m", u.ema[3]*1000, 2)
	e.fltz("GHS 5s", h*1000, 2)
	e.flt("GHS av", u.thDone*1000/math.Max(float64(el), 1), 2)
	e.int("Get Failures", 0)
	e.int("Getworks", getworks)
	e.uint("Hardware Errors", hw)
	e.int("Last getwork", t.Unix())
	e.int("Local Work", 0)
	e.int("Network Blocks", el/600)
	e.fltz("Pool Rejected%", percent(rej, acc+rej), 4)
	e.int("Pool Stale%", 0)
	e.uint("Rejected", rej)
	e.int("Remote Failures", 0)
	e.int("Stale", 0)
	e.int("Total MH", int64(u.thDone*1e6))
	e.flt("Utility", float64(acc)/mins, 2)
	e.flt("Work Utility", float64(acc*shareDiff)/mins, 2)
	r.endItem()
	r.endSection()
}

func percent(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) * 100 / float64(b)
}

// chipC returns the hottest chip temperature of board i.
func (u *Miner) boardChipC(i int) float64 {
	return u.chipC + float64(i%3)*1.5
}

func (u *Miner) replyStats(r *reply, t time.Time) {
	r.status('S', codeStats, "CGMiner stats")
	e := r.e
	_, h := u.powerHash(t)
	el := u.elapsed(t)
	st := u.stateAt(t)
	dead := u.currentFault() == FaultDeadBoard
	r.section("STATS")
	r.item("STATS")
	e.str("BMMiner", luxBMMiner)
	e.str("CompileTime", luxCompileTime)
	e.str("LUXminer", luxVersion)
	e.str("Miner", luxMiner)
	e.int("STATS", 0)
	e.str("Type", u.model.Type)
	r.endItem()
	r.item("STATS")
	e.int("Elapsed", el)
	e.flt("GHS 5s", h*1000, 2)
	e.flt("GHS av", u.thDone*1000/math.Max(float64(el), 1), 2)
	e.str("ID", "BC50")
	e.int("STATS", 1)
	for i := range u.model.Boards {
		chips := u.model.ChipsPerBoard
		if (dead && i == 0) || st == miner.StateSleeping {
			chips = 0
		}
		e.keyN("chain_acn", i+1)
		e.b = strconv.AppendInt(e.b, int64(chips), 10)
	}
	for i := range u.model.Fans {
		e.keyN("fan", i+1)
		e.b = strconv.AppendInt(e.b, int64(u.fanRPM(i, st)), 10)
	}
	e.int("fan_num", int64(u.model.Fans))
	tmax := 0.0
	for i := range u.model.Boards {
		c := math.Round(u.boardChipC(i))
		tmax = math.Max(tmax, c)
		e.keyN("temp_chip", i+1)
		if e.text {
			e.b = tempQuad(e.b, int64(c))
		} else {
			e.b = append(e.b, '"')
			e.b = tempQuad(e.b, int64(c))
			e.b = append(e.b, '"')
		}
	}
	e.int("temp_max", int64(tmax))
	e.int("temp_num", int64(u.model.Boards))
	r.endItem()
	r.endSection()
}

// tempQuad renders "62-62-62-62".
func tempQuad(b []byte, c int64) []byte {
	for i := range 4 {
		if i > 0 {
			b = append(b, '-')
		}
		b = strconv.AppendInt(b, c, 10)
	}
	return b
}

// unitNames are the per-unit strings of replies, built once.
type unitNames struct {
	devsMsg, tempsMsg, fansMsg string
	devName, hostname          string
	mac, serial, worker        string
}

func newUnitNames(index int, m Model) unitNames {
	short := strings.ReplaceAll(m.Name, " ", "")
	i := index + 1
	mac := []byte("02:00:00:")
	for k, v := range [3]int{i >> 16 & 0xff, i >> 8 & 0xff, i & 0xff} {
		if k > 0 {
			mac = append(mac, ':')
		}
		mac = append(mac, hexDigits[v>>4], hexDigits[v&0xf])
	}
	n := strconv.Itoa(i)
	return unitNames{
		devsMsg:  strconv.Itoa(m.Boards) + " ASC(s)",
		tempsMsg: strconv.Itoa(m.Boards) + " Temp(s)",
		fansMsg:  strconv.Itoa(m.Fans) + " Fan(s)",
		devName:  short,
		hostname: "luxos-" + strings.ToLower(short),
		mac:      string(mac),
		serial:   "SIM" + strings.Repeat("0", max(0, 13-len(n))) + n,
		worker:   "gridminer.worker" + n,
	}
}

func (u *Miner) replyPools(r *reply, t time.Time) {
	r.status('S', codePools, "2 Pool(s)")
	e := r.e
	r.section("POOLS")
	poolURLs := [2]string{"stratum+tcp://stratum.example.net:3333", "stratum+tcp://backup.example.net:3333"}
	for i, host := range [2]string{"stratum.example.net", "backup.example.net"} {
		r.item("")
		if i == 0 {
			e.uint("Accepted", u.accepted())
			e.str("Diff", "65.5K")
			e.int("Getworks", u.elapsed(t)/30+1)
			e.int("Last Share Time", u.lastShare.Unix())
		} else {
			e.int("Accepted", 0)
			e.str("Diff", "0")
			e.int("Getworks", 0)
			e.int("Last Share Time", 0)
		}
		e.int("POOL", int64(i))
		e.int("Priority", int64(i))
		e.int("Quota", 1)
		if i == 0 {
			e.uint("Rejected", u.rejected())
		} else {
			e.int("Rejected", 0)
		}
		e.int("Stale", 0)
		e.str("Status", "Alive")
		e.bool("Stratum Active", i == 0)
		e.str("Stratum URL", host)
		e.str("URL", poolURLs[i])
		e.str("User", u.names.worker)
		r.endItem()
	}
	r.endSection()
}

func (u *Miner) replyPower(r *reply, t time.Time) {
	r.status('S', codePower, "Power usage")
	p, _ := u.powerHash(t)
	r.section("POWER")
	r.item("POWER")
	r.e.bool("PSU", false)
	r.e.int("Watts", int64(math.Round(p)))
	r.endItem()
	r.endSection()
}

func (u *Miner) replyProfiles(r *reply) {
	r.status('S', codeProfiles, "Profiles")
	e := r.e
	r.section("PROFILES")
	for _, p := range u.profiles {
		r.item("")
		e.int("Frequency", int64(p.FreqMHz))
		e.flt("Hashrate", float64(p.Hashrate), 1)
		e.bool("IsDynamic", p.Step != 0)
		e.bool("IsTuned", false)
		e.str("Profile Name", p.Name)
		e.str("Step", p.StepLabel())
		e.flt("Voltage", p.Voltage, 1)
		e.int("Watts", int64(p.Power))
		r.endItem()
	}
	r.endSection()
}

func (u *Miner) replyConfig(r *reply, t time.Time) {
	r.status('S', codeConfig, "CGMiner config")
	e := r.e
	st := u.stateAt(t)
	pr := u.profiles[u.profile]
	r.section("CONFIG")
	r.item("CONFIG")
	e.int("ASC Count", int64(u.model.Boards))
	e.int("ActualPowerTarget", 0)
	if u.asleep {
		e.str("CurtailMode", "Sleep")
	} else {
		e.str("CurtailMode", "None")
	}
	e.str("Device Code", "")
	e.str("Hostname", u.names.hostname)
	e.int("IdealPowerTarget", 0)
	e.bool("IsAtmEnabled", u.atm)
	e.bool("IsPowerSupplyOn", st != miner.StateSleeping)
	e.bool("IsPowerTargetEnabled", false)
	e.bool("IsPowerTargetSupported", false)
	e.bool("IsTuning", false)
	e.int("Log Interval", 5)
	e.str("MACAddr", u.names.mac)
	e.str("Model", u.model.Name)
	e.flt("NameplateTHS", float64(u.model.NominalHashrate), 2)
	e.str("OS", "LUXminer")
	e.int("PGA Count", 0)
	e.int("Pool Count", 2)
	e.int("PowerLimit", 0)
	e.str("Profile", pr.Name)
	e.str("ProfileStep", pr.StepLabel())
	e.str("RedLed", "off")
	e.str("SerialNumber", u.names.serial)
	e.str("Strategy", "Failover")
	e.str("SystemStatus", "Normal")
	e.str("Type", u.model.Type)
	r.endItem()
	r.endSection()
}

func (u *Miner) replyDevs(r *reply, t time.Time) {
	e := r.e
	r.status('S', codeDevs, u.names.devsMsg)
	_, h := u.powerHash(t)
	st := u.stateAt(t)
	dead := u.currentFault() == FaultDeadBoard
	live := u.model.Boards
	if dead {
		live--
	}
	acc, rej := u.accepted(), u.rejected()
	pr := u.profiles[u.profile]
	nb := uint64(u.model.Boards)
	el := u.elapsed(t)
	// IsRamping marks wake and sleep ramps only; a profile change ramps
	// power silently, as the LuxOS driver reads IsRamping as "waking".
	ramping := st == miner.StateWaking || st == miner.StateRampingDown
	r.section("DEVS")
	for i := range u.model.Boards {
		bdead := dead && i == 0
		share := 0.0
		if !bdead {
			share = 1 / float64(live)
		}
		r.item("")
		e.int("ASC", int64(i))
		e.uint("Accepted", acc/nb+boolU(uint64(i) < acc%nb))
		e.str("Board", "BHB42601")
		e.key("Connector")
		if !e.text {
			e.b = append(e.b, '"')
		}
		e.b = strconv.AppendInt(append(e.b, 'J'), int64(i+1), 10)
		if !e.text {
			e.b = append(e.b, '"')
		}
		e.int("Device Elapsed", el)
		e.str("Enabled", "Y")
		e.uint("Hardware Errors", acc/400/nb)
		e.int("ID", int64(i))
		e.bool("IsRamping", ramping)
		e.bool("IsUserShutdown", false)
		e.int("Last Share Time", u.lastShare.Unix()+int64(i))
		e.flt("MHS 15m", u.ema[2]*share*1e6, 1)
		e.flt("MHS 1m", u.ema[0]*share*1e6, 1)
		e.flt("MHS 5m", u.ema[1]*share*1e6, 1)
		e.flt("MHS 5s", h*share*1e6, 1)
		e.flt("MHS av", u.thDone/math.Max(float64(el), 1)*share*1e6, 1)
		e.str("Name", u.names.devName)
		e.flt("Nominal MHS", float64(pr.Hashrate)/float64(nb)*1e6, 1)
		e.str("Profile", pr.Name)
		e.uint("Rejected", rej/nb+boolU(uint64(i) < rej%nb))
		if bdead || st == miner.StateSleeping {
			e.str("Status", "Dead")
		} else {
			e.str("Status", "Alive")
		}
		e.flt("Temperature", halfRound(u.boardChipC(i)), 1)
		r.endItem()
	}
	r.endSection()
}

func boolU(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func halfRound(v float64) float64 { return math.Round(v*2) / 2 }

func (u *Miner) replyTemps(r *reply) {
	e := r.e
	r.status('S', codeTemps, u.names.tempsMsg)
	r.section("TEMPS")
	for i := range u.model.Boards {
		c := u.boardChipC(i)
		r.item("")
		e.int("Board", int64(i))
		e.flt("BottomLeft", halfRound(c-7), 1)
		e.flt("BottomRight", halfRound(c-4), 1)
		e.int("ID", int64(i))
		e.flt("TopLeft", halfRound(c-2), 1)
		e.flt("TopRight", halfRound(c), 1)
		r.endItem()
	}
	r.endSection()
}

func (u *Miner) replyFans(r *reply, t time.Time) {
	e := r.e
	r.status('S', codeFans, u.names.fansMsg)
	st := u.stateAt(t)
	r.section("FANS")
	for i := range u.model.Fans {
		rpm := u.fanRPM(i, st)
		r.item("")
		e.int("ID", int64(i))
		e.int("RPM", int64(rpm))
		e.int("Speed", int64(math.Round(float64(rpm)*100/maxFanRPM)))
		r.endItem()
	}
	r.endSection()
}

func (u *Miner) replyATM(r *reply) {
	r.status('S', codeATM, "ATM configuration values")
	e := r.e
	r.section("ATM")
	r.item("ATM")
	e.flt("ChipTempWindow", 8, 1)
	e.bool("Enabled", u.atm)
	e.str("MaxProfile", "default")
	e.str("MaxProfileStep", "0")
	e.str("MinProfile", "")
	e.int("PostRampMinutes", 15)
	e.int("StartupMinutes", 15)
	e.flt("TempWindow", 5, 1)
	e.flt("WaterInletTempWindow", 7, 1)
	r.endItem()
	r.endSection()
}

func (u *Miner) sessionSection(r *reply, id string) {
	r.section("SESSION")
	r.item("SESSION")
	r.e.str("SessionID", id)
	r.endItem()
	r.endSection()
}

func (u *Miner) replySession(r *reply, t time.Time) {
	r.status('S', codeSessionInfo, "Session information")
	id := ""
	if u.sessionLive() {
		id = u.session
	}
	u.sessionSection(r, id)
}

func (u *Miner) cmdLogon(r *reply, t time.Time) {
	if u.sessionLive() {
		r.status('E', codeSessionExists, "Another session is active")
		return
	}
	u.session, u.sessUsed = u.newSessionID(), u.sessClk.Now()
	r.status('S', codeSessionCreated, "Session created")
	u.sessionSection(r, u.session)
}

// checkSession splits a write's parameters and validates the session id in
// the first; it refreshes the session on success.
func (u *Miner) checkSession(r *reply, t time.Time, param string) (rest string, ok bool) {
	sid, rest, _ := strings.Cut(param, ",")
	if sid == "" || !u.sessionLive() || sid != u.session {
		r.status('E', codeSessionInvalid, "Invalid session id")
		return "", false
	}
	u.sessUsed = u.sessClk.Now()
	return rest, true
}

func (u *Miner) cmdLogoff(r *reply, t time.Time, param string) {
	if _, ok := u.checkSession(r, t, param); !ok {
		return
	}
	u.session = ""
	r.status('S', codeLogoff, "Session closed")
}

func (u *Miner) cmdCurtail(r *reply, t time.Time, param string) {
	rest, ok := u.checkSession(r, t, param)
	if !ok {
		return
	}
	mode, _, _ := strings.Cut(rest, ",")
	var action string
	switch mode {
	case "sleep":
		u.sleep(t)
		action = "sleep mode"
	case "wakeup":
		u.wake(t)
		action = "wake up"
	default:
		r.status('E', codeCurtailInvalid, "Invalid curtail mode: "+mode)
		return
	}
	r.status('S', codeCurtail, "Curtailment command sent")
	r.section("CURTAIL")
	r.item("CURTAIL")
	r.e.str("Action", action)
	r.endItem()
	r.endSection()
}

func (u *Miner) cmdProfileSet(r *reply, t time.Time, param string) {
	rest, ok := u.checkSession(r, t, param)
	if !ok {
		return
	}
	sel, _, _ := strings.Cut(rest, ",")
	i, ok := u.selectProfile(sel)
	if !ok {
		r.status('E', codeProfileInvalid, "Invalid profile: "+sel)
		return
	}
	u.setProfile(t, i)
	r.status('S', codeProfileSet, "Profile Set")
	e := r.e
	r.section("PROFILE")
	r.item("PROFILE")
	e.int("Board", 0)
	e.int("FrequencyStep", 5)
	e.str("Profile", u.profiles[i].Name)
	e.flt("VoltageStep", 0.05, 2)
	r.endItem()
	r.endSection()
}

// selectProfile resolves a profile name or a LuxOS selector: "3250W",
// "3.2kW", "100THs" (highest profile at or under it), "+1", "-2"
// (relative to the current step).
func (u *Miner) selectProfile(sel string) (int, bool) {
	for i, p := range u.profiles {
		if p.Name == sel {
			return i, true
		}
	}
	if len(sel) > 1 && (sel[0] == '+' || sel[0] == '-') {
		n, err := strconv.Atoi(sel)
		if err != nil {
			return 0, false
		}
		i := u.profile + n
		return i, i >= 0 && i < len(u.profiles)
	}
	num := func(suffix string) (float64, bool) {
		s, ok := strings.CutSuffix(sel, suffix)
		if !ok {
			return 0, false
		}
		v, err := strconv.ParseFloat(s, 64)
		return v, err == nil && v > 0 && !math.IsInf(v, 0)
	}
	best := -1
	if v, ok := num("THs"); ok {
		for i, p := range u.profiles {
			if float64(p.Hashrate) <= v {
				best = i
			}
		}
		return best, best >= 0
	}
	w, ok := num("kW")
	if ok {
		w *= 1000
	} else if w, ok = num("W"); !ok {
		return 0, false
	}
	for i, p := range u.profiles {
		if float64(p.Power) <= w {
			best = i
		}
	}
	return best, best >= 0
}

func (u *Miner) cmdATMSet(r *reply, t time.Time, param string) {
	rest, ok := u.checkSession(r, t, param)
	if !ok {
		return
	}
	atm := u.atm
	for kv := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(kv, "=")
		if k != "enabled" {
			continue // other ATM settings are accepted and not modelled
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			r.status('E', codeATMInvalid, "Invalid ATM value: "+kv)
			return
		}
		atm = b
	}
	u.atm = atm
	r.status('S', codeATMSet, "ATM configuration updated")
}
