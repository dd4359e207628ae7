package whatsminer

// Hooks for the external tests, which can import the simulator.
var (
	CheckFastSummaryEdevs = checkFastSummaryEdevs
	CheckFastStatus       = checkFastStatus
)
