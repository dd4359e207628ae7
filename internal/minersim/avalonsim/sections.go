package avalonsim

import (
	"math"
	"strconv"
	"strings"

	"github.com/gridminer/gridminer/internal/miner"
	"github.com/gridminer/gridminer/internal/minersim"
)

// Share accounting of the simulator (minersim counts shares of difficulty
// 65536): TH done = accepted · 2^32 · 65536 / 1e12.
const thPerShare = 4294967296.0 * 65536 / 1e12

func versionSection(u *minersim.Miner) section {
	m, id := u.Model(), u.Identity()
	mac := strings.ToLower(strings.ReplaceAll(id.MAC, ":", ""))
	return section{name: "VERSION", bare: true, entries: [][]field{{
		s("CGMiner", "4.11.1"), s("API", "3.7"), s("STM8", "20.08.01"),
		s("PROD", "AvalonMiner "+m.Name), s("MODEL", m.Name), s("HWTYPE", "MM4v2_X3"), s("SWTYPE", "MM314"),
		s("VERSION", "24061001_sim_gridminer"), s("LOADER", "d0d779de.00"),
		s("DNA", dna(id.Serial)), s("MAC", mac), s("UPAPI", "2"),
	}}}
}

// dna renders a serial as Avalon's 16-hex-digit DNA.
func dna(serial string) string {
	var h uint64 = 1469598103934665603
	for i := 0; i < len(serial); i++ {
		h = (h ^ uint64(serial[i])) * 1099511628211
	}
	s := strconv.FormatUint(h, 16)
	return strings.Repeat("0", 16-len(s)) + s
}

// mhsAvg is the average hashrate since start in MH/s.
func mhsAvg(u *minersim.Miner, sn minersim.Snapshot) (avg float64, elapsed int64) {
	elapsed = int64(sn.Time.Sub(u.Started()).Seconds())
	if elapsed <= 0 {
		return float64(sn.Hashrate) * 1e6, 0
	}
	return float64(sn.Accepted) * thPerShare / float64(elapsed) * 1e6, elapsed
}

func summarySection(u *minersim.Miner, sn minersim.Snapshot) section {
	mhs := float64(sn.Hashrate) * 1e6
	avg, el := mhsAvg(u, sn)
	return section{name: "SUMMARY", bare: true, entries: [][]field{{
		i("Elapsed", el), f("MHS av", avg, 2), f("MHS 30s", mhs, 2), f("MHS 1m", mhs, 2),
		f("MHS 5m", avg, 2), f("MHS 15m", avg, 2), i("Found Blocks", 0), i("Getworks", el/30),
		i("Accepted", int64(sn.Accepted)), i("Rejected", int64(sn.Rejected)), i("Hardware Errors", 0),
		f("Utility", perMin(float64(sn.Accepted), el), 2), i("Discarded", 0), i("Stale", 0),
		i("Get Failures", 0), i("Local Work", el*4), i("Remote Failures", 0), i("Network Blocks", el/600),
		f("Total MH", avg*float64(el), 4), f("Work Utility", perMin(float64(sn.Accepted)*65536, el), 2),
		f("Difficulty Accepted", float64(sn.Accepted)*65536, 8), f("Difficulty Rejected", float64(sn.Rejected)*65536, 8),
		f("Difficulty Stale", 0, 8), i("Best Share", int64(sn.Accepted)*65536*3),
		f("Device Hardware%", 0, 4), f("Device Rejected%", pct(sn.Rejected, sn.Accepted), 4),
		f("Pool Rejected%", pct(sn.Rejected, sn.Accepted), 4), f("Pool Stale%", 0, 4),
		i("Last getwork", sn.Time.Unix()),
	}}}
}

func perMin(n float64, el int64) float64 {
	if el <= 0 {
		return 0
	}
	return n / (float64(el) / 60)
}

func pct(a, b uint64) float64 {
	if a+b == 0 {
		return 0
	}
	return float64(a) / float64(a+b) * 100
}

// boardWatts is the power the PSU delivers to the hash boards: the unit's
// input power less its control-board share (the model's sleep power).
func boardWatts(u *minersim.Miner, sn minersim.Snapshot) float64 {
	return math.Max(0, float64(sn.Power)-float64(u.Model().SleepPower))
}

// psString renders PS[err vctrl vhash I_A P_W vset]: volts ×100, amps,
// watts to the hash boards.
func psString(u *minersim.Miner, sn minersim.Snapshot) string {
	p := u.Profiles()[u.ProfileIndex()]
	vset := int64(math.Round(p.Voltage * 100))
	w := boardWatts(u, sn)
	vhash, amps := int64(0), int64(0)
	if w > 0 {
		vhash = vset
		amps = int64(math.Round(w / p.Voltage))
	}
	return strings.Join([]string{"0", "1196", itoa(vhash), itoa(amps), itoa(int64(math.Round(w))), itoa(vset)}, " ")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// mmString builds the "MM ID0" string of estats from the model.
func mmString(u *minersim.Miner, st *unitState, sn minersim.Snapshot) string {
	m := u.Model()
	p := u.Profiles()[u.ProfileIndex()]
	avg, el := mhsAvg(u, sn)
	work := "In Work"
	if st.softOff || st.hashOff || sn.State == miner.StateSleeping || sn.State == miner.StateRampingDown {
		work = "In Idle"
	}
	softOff := "0"
	if st.softOff {
		softOff = "1"
	}
	var b strings.Builder
	w := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('[')
		b.WriteString(v)
		b.WriteByte(']')
	}
	nums := func(vs []float64, prec int) string {
		ss := make([]string, len(vs))
		for k, v := range vs {
			ss[k] = strconv.FormatFloat(v, 'f', prec, 64)
		}
		return strings.Join(ss, " ")
	}
	boards := m.Boards
	mghs := make([]float64, boards)
	mtmax := make([]float64, boards)
	mtavg := make([]float64, boards)
	hashs := make([]string, boards)
	for k := range boards {
		hashs[k] = "0"
		mtmax[k] = math.Round(sn.ChipTempC) - float64(k)
		mtavg[k] = math.Round(sn.BoardTempC) - float64(k)
	}
	if sn.BoardsActive > 0 {
		first := boards - sn.BoardsActive // a dead board is board 0
		for k := first; k < boards; k++ {
			mghs[k] = float64(sn.Hashrate) * 1000 / float64(sn.BoardsActive)
		}
		for k := 0; k < first; k++ {
			hashs[k] = "1"
		}
	}
	w("Ver", m.Name+"-sim-24061001_gridminer")
	w("DNA", dna(u.Identity().Serial))
	w("MEMFREE", "1392844.1392844")
	w("NETFAIL", "0 0 0 0 0 0 0 0")
	w("SYSTEMSTATU", "Work: "+work+", Hash Board: "+strconv.Itoa(boards)+" ")
	w("Elapsed", itoa(el))
	w("BOOTBY", "0x01.00000000")
	w("LW", itoa(el*4))
	w("MH", strings.TrimSpace(strings.Repeat("0 ", boards)))
	w("DHW", "0")
	w("HW", "0")
	w("DH", "0.000%")
	w("Temp", "25")
	w("TMax", itoa(int64(math.Round(sn.ChipTempC))))
	w("TAvg", itoa(int64(math.Round(sn.BoardTempC))))
	maxRPM := 0
	for k, rpm := range sn.FanRPM {
		w("Fan"+strconv.Itoa(k+1), strconv.Itoa(rpm))
		maxRPM = max(maxRPM, rpm)
	}
	w("FanR", strconv.Itoa(maxRPM*100/6000)+"%")
	w("Vo", itoa(int64(math.Round(p.Voltage*10))))
	w("PS", psString(u, sn))
	for k := range boards {
		fr := strconv.Itoa(p.FreqMHz)
		w("PLL"+strconv.Itoa(k), fr+" "+fr+" "+fr+" "+fr)
	}
	w("GHSspd", strconv.FormatFloat(float64(sn.Hashrate)*1000, 'f', 2, 64))
	w("DHspd", "0.000%")
	w("GHSmm", strconv.FormatFloat(float64(sn.ProfileHashrate)*1000, 'f', 2, 64))
	w("GHSavg", strconv.FormatFloat(avg/1000, 'f', 2, 64))
	w("WU", strconv.FormatFloat(perMin(float64(sn.Accepted)*65536, el), 'f', 2, 64))
	w("Freq", strconv.Itoa(p.FreqMHz))
	w("Led", "0")
	w("MGHS", nums(mghs, 2))
	w("MTmax", nums(mtmax, 0))
	w("MTavg", nums(mtavg, 0))
	w("TA", strconv.Itoa(boards*m.ChipsPerBoard))
	w("Core", "A3201")
	w("PING", "18")
	w("POWS", "0")
	w("HASHS", strings.Join(hashs, " "))
	w("POOLS", "0")
	w("SoftOFF", softOff)
	w("ECHU", strings.TrimSpace(strings.Repeat("0 ", boards)))
	w("ECMM", "0")
	w("MPO", itoa(int64(math.Round(float64(sn.ProfilePower)))))
	w("MVL", "87")
	w("WORKMODE", strconv.Itoa(st.workMode))
	w("WALLPOWER", itoa(int64(math.Round(float64(sn.Power)))))
	return b.String()
}

func statsSection(u *minersim.Miner, st *unitState, sn minersim.Snapshot) section {
	_, el := mhsAvg(u, sn)
	return section{name: "STATS", entries: [][]field{{
		i("STATS", 0), s("ID", "AVA100"), i("Elapsed", el), i("Calls", 0),
		f("Wait", 0, 6), f("Max", 0, 6), f("Min", 99999999, 6),
		s("MM ID0", mmString(u, st, sn)), i("MM Count", 1), i("Smart Speed", 1),
		i("Voltage Level Offset", 0), i("Nonce Mask", 25),
	}}}
}

func devsSection(u *minersim.Miner, sn minersim.Snapshot) section {
	mhs := float64(sn.Hashrate) * 1e6
	avg, el := mhsAvg(u, sn)
	return section{name: "DEVS", entries: [][]field{{
		i("ASC", 0), s("Name", "AVA10"), i("ID", 0), s("Enabled", "Y"), s("Status", "Alive"),
		f("Temperature", sn.ChipTempC, 2), f("MHS av", avg, 2), f("MHS 30s", mhs, 2),
		f("MHS 1m", mhs, 2), f("MHS 5m", avg, 2), f("MHS 15m", avg, 2),
		i("Accepted", int64(sn.Accepted)), i("Rejected", int64(sn.Rejected)), i("Hardware Errors", 0),
		i("Last Share Time", sn.Time.Unix()), i("Device Elapsed", el),
	}}}
}

func poolsSection(u *minersim.Miner) section {
	sn := u.Snapshot()
	return section{name: "POOLS", entries: [][]field{{
		i("POOL", 0), s("URL", "stratum+tcp://stratum.example.net:3333"), s("Status", "Alive"),
		i("Priority", 0), i("Quota", 1), s("Long Poll", "N"), i("Accepted", int64(sn.Accepted)),
		i("Rejected", int64(sn.Rejected)), s("User", u.Identity().Worker), s("Stratum Active", "true"),
		f("Stratum Difficulty", 65536, 8),
	}}}
}
