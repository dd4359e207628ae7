package ercotgrid

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gridminer/gridminer/internal/energy"
)

// Condition is ERCOT's grid condition as the dashboard states it.
type Condition string

const (
	Normal       Condition = "normal"
	Watch        Condition = "watch"        // Weather Watch: monitor conditions
	Conservation Condition = "conservation" // voluntary conservation appeal
	EEA1         Condition = "eea1"         // Energy Emergency Alert level 1
	EEA2         Condition = "eea2"
	EEA3         Condition = "eea3" // controlled outages (load shed)
	Unknown      Condition = "unknown"
)

// ParseCondition reads a condition name as Config and YAML spell it.
func ParseCondition(s string) (Condition, error) {
	switch c := Condition(strings.ToLower(strings.TrimSpace(s))); c {
	case Normal, Watch, Conservation, EEA1, EEA2, EEA3, Unknown:
		return c, nil
	}
	return "", fmt.Errorf("grid condition %q: want one of normal, watch, conservation, eea1, eea2, eea3, unknown", s)
}

// ErrBadReading is wrapped by Parse's errors.
var ErrBadReading = errors.New("bad ercot grid conditions reading")

// Reading is one poll of the grid conditions dashboard.
type Reading struct {
	// Time is when ERCOT stamped the condition (current_condition.datetime,
	// else lastUpdated); zero when the document carries neither.
	Time time.Time
	// Condition is the classified condition; EEALevel is eea_level as
	// published (0 outside an emergency).
	Condition Condition
	EEALevel  int
	// State, Title and Note are the published texts.
	State, Title, Note string
	// PRC is the Physical Responsive Capability, HasPRC whether published.
	PRC    energy.Power
	HasPRC bool
}

// wire is the part of daily-prc.json the source reads; the PRC history in
// "data" is skipped.
type wire struct {
	LastUpdated string `json:"lastUpdated"`
	Current     *struct {
		ConditionNote string          `json:"condition_note"`
		EEALevel      json.RawMessage `json:"eea_level"`
		State         string          `json:"state"`
		Title         string          `json:"title"`
		PRCValue      json.RawMessage `json:"prc_value"`
		Datetime      json.RawMessage `json:"datetime"`
	} `json:"current_condition"`
}

// Parse reads a daily-prc.json document:
//
//	{"lastUpdated": "2024-07-01 15:31:02-0500",
//	 "current_condition": {"title": "...", "state": "normal", "prc_value": "9,876",
//	   "condition_note": "...", "eea_level": 0, "energy_level_value": 0,
//	   "index": 0, "datetime": 1719865862},
//	 "data": [{"timestamp": ..., "epoch": ..., "prc": 9876}, ...]}
//
// eea_level (0–3) decides an emergency; otherwise the state and title
// texts are classified (normal, watch, conservation, and emergency texts
// naming a level). PRC arrives as a string with thousands separators or a
// number, in MW. Errors wrap ErrBadReading.
func Parse(body []byte) (Reading, error) {
	bad := func(format string, a ...any) (Reading, error) {
		return Reading{}, fmt.Errorf("%w: %s", ErrBadReading, fmt.Sprintf(format, a...))
	}
	var w wire
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return bad("not the daily-prc.json document: %v", err)
	}
	if w.Current == nil {
		return bad("no current_condition")
	}
	cur := w.Current
	r := Reading{State: strings.TrimSpace(cur.State), Title: strings.TrimSpace(cur.Title), Note: strings.TrimSpace(cur.ConditionNote)}
	var err error
	if r.EEALevel, err = jsonInt(cur.EEALevel); err != nil {
		return bad("eea_level %s: %v", clip(string(cur.EEALevel)), err)
	}
	if r.EEALevel < 0 || r.EEALevel > 3 {
		return bad("eea_level %d: want 0 to 3", r.EEALevel)
	}
	sec, err := jsonInt(cur.Datetime)
	if err != nil {
		return bad("datetime %s: %v", clip(string(cur.Datetime)), err)
	}
	switch {
	case sec > 0 && sec < 1e11:
		r.Time = time.Unix(int64(sec), 0).UTC()
	case w.LastUpdated != "":
		t, err := time.Parse("2006-01-02 15:04:05-0700", strings.TrimSpace(w.LastUpdated))
		if err != nil {
			return bad("lastUpdated %q: want yyyy-MM-dd HH:mm:ss-hhmm", clip(w.LastUpdated))
		}
		r.Time = t.UTC()
	}
	if mw, ok, err := prcMW(cur.PRCValue); err != nil {
		return bad("prc_value %s: %v", clip(string(cur.PRCValue)), err)
	} else if ok {
		r.PRC, r.HasPRC = energy.Power(mw)*energy.Megawatt, true
	}
	r.Condition = classify(r.EEALevel, r.State, r.Title)
	return r, nil
}

// jsonInt reads an absent or null value as 0, a number, or a string of
// digits.
func jsonInt(raw json.RawMessage) (int, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, nil
	}
	s = strings.Trim(s, `"`)
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1e12 {
		return 0, errors.New("want a whole number")
	}
	return int(f), nil
}

// prcMW reads "19,226", "19226.5" or 19226; absent, null or "" is not
// published.
func prcMW(raw json.RawMessage) (float64, bool, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, false, nil
	}
	s = strings.ReplaceAll(strings.Trim(s, `"`), ",", "")
	if strings.TrimSpace(s) == "" {
		return 0, false, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, false, errors.New("not a number of MW")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e6 {
		return 0, false, errors.New("want a finite, non-negative number of MW")
	}
	return f, true, nil
}

var levelRE = regexp.MustCompile(`(?:eea|level)\s*-?\s*([1-3])`)

// classify names the condition: eea_level first, then the texts. An
// emergency text without a level is taken as EEA1, the least severe
// emergency, rather than ignored.
func classify(eea int, state, title string) Condition {
	switch eea {
	case 1:
		return EEA1
	case 2:
		return EEA2
	case 3:
		return EEA3
	}
	txt := strings.ToLower(state + " " + title)
	if strings.Contains(txt, "eea") || strings.Contains(txt, "emergency") {
		if m := levelRE.FindStringSubmatch(txt); m != nil {
			return Condition("eea" + m[1])
		}
		return EEA1
	}
	switch {
	case strings.Contains(txt, "conserv"):
		return Conservation
	case strings.Contains(txt, "watch"):
		return Watch
	case strings.TrimSpace(strings.ToLower(state)) == "normal" || strings.Contains(txt, "normal"):
		return Normal
	}
	return Unknown
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
