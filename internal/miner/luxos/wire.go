package luxos

import "github.com/gridminer/gridminer/internal/miner/cgminer"

// Wire types: only the fields the driver reads. Field names follow
// testdata/README.md.

type statusOnly struct {
	Status []cgminer.StatusEntry `json:"STATUS"`
}

type versionWire struct {
	LUXminer string `json:"LUXminer"`
	Miner    string `json:"Miner"`
	Type     string `json:"Type"`
}

type profileWire struct {
	Name     string  `json:"Profile Name"`
	Hashrate float64 `json:"Hashrate"` // TH/s
	Watts    float64 `json:"Watts"`
	Step     string  `json:"Step"`
}

type configWire struct {
	CurtailMode     string `json:"CurtailMode"` // "None" or "Sleep"
	IsAtmEnabled    bool   `json:"IsAtmEnabled"`
	IsPowerSupplyOn *bool  `json:"IsPowerSupplyOn"`
	Model           string `json:"Model"`
	Type            string `json:"Type"`
	Profile         string `json:"Profile"`
	ProfileStep     string `json:"ProfileStep"`
}

type summaryWire struct {
	Elapsed  float64 `json:"Elapsed"`
	GHS5s    float64 `json:"GHS 5s"`
	GHSav    float64 `json:"GHS av"`
	Accepted float64 `json:"Accepted"`
	Rejected float64 `json:"Rejected"`
}

type powerWire struct {
	Watts float64 `json:"Watts"`
}

type devWire struct {
	Status      string  `json:"Status"`
	MHS5s       float64 `json:"MHS 5s"`
	Temperature float64 `json:"Temperature"`
	IsRamping   bool    `json:"IsRamping"`
}

type fanWire struct {
	RPM float64 `json:"RPM"`
}

type atmWire struct {
	Enabled bool `json:"Enabled"`
}

type sessionWire struct {
	SessionID string `json:"SessionID"`
}

// statusReply is the reply to the Status request, decoded in one pass.
type statusReply struct {
	Summary []struct {
		statusOnly
		Summary []summaryWire `json:"SUMMARY"`
	} `json:"summary"`
	Power []struct {
		statusOnly
		Power []powerWire `json:"POWER"`
	} `json:"power"`
	Devs []struct {
		statusOnly
		Devs []devWire `json:"DEVS"`
	} `json:"devs"`
	Fans []struct {
		statusOnly
		Fans []fanWire `json:"FANS"`
	} `json:"fans"`
	Config []struct {
		statusOnly
		Config []configWire `json:"CONFIG"`
	} `json:"config"`
	// A joined request rejected as a whole carries a top-level STATUS.
	Status []cgminer.StatusEntry `json:"STATUS"`
}

// capsReply is the reply to version+profiles+config.
type capsReply struct {
	Version []struct {
		statusOnly
		Version []versionWire `json:"VERSION"`
	} `json:"version"`
	Profiles []struct {
		statusOnly
		Profiles []profileWire `json:"PROFILES"`
	} `json:"profiles"`
	Config []struct {
		statusOnly
		Config []configWire `json:"CONFIG"`
	} `json:"config"`
	Status []cgminer.StatusEntry `json:"STATUS"`
}
