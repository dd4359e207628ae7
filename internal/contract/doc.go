// Package contract describes a mining site's power contract and grid
// obligations, and settles each settlement interval under them exactly.
//
// # The power balance
//
// The site's load is its mining draw plus its AI/HPC loads. On-site
// (behind-the-meter) wind or solar serves that load first. Generation left
// over is exported up to the export limit (at the spot price, or a fixed
// price) and the rest is spilled, worth nothing. Surplus is exported only
// while the export price is above $0/MWh: at a zero or negative price the
// site curtails its generation instead and spills the whole surplus, since
// a rational site never pays to export (and gains nothing by exporting for
// free). Load left over is imported from the grid: first from the
// fixed-price block, if there is one, up to its size, then at the spot
// price (the real-time settlement point price) plus the index adder.
//
// # The block is take-or-pay
//
// The block (Riot's Rockdale contracts are the model; research file §2.1)
// is paid for every interval, used or not: BlockCost = MW × hours × block
// price. Block energy the site does not use is resold at spot plus the
// resale adder (negative for fees), and that ResaleCredit is negative when
// the resale price is: with spot below zero, unused block power costs money
// to sell back, just as Riot's contracts settle it. So the block price is
// sunk, and the marginal cost of block power is the resale price forgone.
// This is why a miner with a cheap block still curtails when spot is high:
// each MWh not mined is sold at spot.
//
// # Marginal cost of mining
//
// CostCurve turns those rules into the cost of the mining draw over one
// interval as piecewise-linear segments, in the order the load takes
// power: spilled generation (free), exportable generation (the export price
// forgone), block power (spot + resale adder forgone), spot import (spot +
// index adder). AI load that runs regardless takes the cheapest power
// first, so the curve starts after it. Because surplus is exported only at
// a positive price, exportable generation never costs less than spilled
// generation: were exports made at a negative price, the curve would take
// free spilled power before cheaper (negative) exportable power and be
// non-convex for every site with generation whenever spot went negative.
// The curve is convex (cheapest first) when the prices of its segments are
// in order: 0 (spill, with on-site generation) ≤ export price (while the
// site exports) ≤ block resale price ≤ import price. A fixed export price
// above the import price, a resale adder above the index adder, a negative
// resale adder with spot-priced exports at a positive spot, or a block
// resale or import price below $0/MWh with on-site generation (free
// spilled power taken before power that pays the site) make it
// non-convex. Settlement still follows the contract's rules then;
// optimisers that need convexity check the contract over their price range
// with CheckConvex at config time, and Convex tells whether one interval's
// curve is.
//
// # Obligations (the rule the whole project uses)
//
// A commitment (ERS-10/30, ECRS, RRS, RRS-UFR, Non-Spin, ERCOT's voluntary
// large-flexible-load program) promises a reduction of MW of mining load
// while its window holds, for a capacity payment of MW × hours ×
// CapacityUSDPerMWh for every hour it holds (deployed or not).
//
//   - Active and not deployed: the site keeps at least MW of mining load
//     running, so that it has something to drop. Several such commitments
//     add up; the mining draw covers them in list order, and the part of
//     each not covered is its floor shortfall: capacity paid for but not
//     deliverable.
//   - Deployed: from the deployment's start plus the product's deadline
//     until the deployment ends (or the product's maximum hold after the
//     deadline runs out, whichever is first), mining draw must be at most
//     max(0, BaselineMW − MW called). BaselineMW defaults to the site's
//     maximum mining draw (Contract.Defaults). Each deployed commitment is
//     measured from its own baseline, so with several deployed at once the
//     lowest cap binds; stacked products meant to add their reductions
//     need baselines set accordingly. Before the deadline the site is
//     ramping: neither floor nor cap applies.
//   - Penalty: PenaltyUSDPerMWh per MW short per hour, on the shortfall
//     after the deadline (mining draw above the cap, at most the MW called,
//     with the interval's average draw taken as constant) and on the floor
//     shortfall.
//
// Constraints gives the floor and cap for an interval so that dispatch
// never plans a penalty; Settle measures what happened. Product deadlines
// and holds come from the research file (§1.2) and are overridable per
// commitment. Windows and deployments may start and end inside an
// interval; Settle integrates over the exact pieces (DST included), while
// Constraints reports the strictest piece.
//
// # Transmission and demand charges
//
// ERCOT's 4CP charge (§1.5): in each 4CP month (June to September by
// default) ERCOT names the one 15-minute interval of highest system demand;
// the site's tag is its average import over those intervals (weight
// 1/len(Months) each) and it pays tag × $/kW-year over the following year.
// One watt of import during one known peak therefore costs
// rate/1000/len(Months) dollars (FourCPCostPerW); planners add it to the
// import segments weighted by the probability the interval is a peak
// (WithImportCharge). Settle reports a peak interval's share as
// FourCPAccrual and Period measures the tag and annual charge, but neither
// nets them into the interval's or the period's cost: the charge is billed
// the following year. A demand charge (optional) bills each local calendar
// month's highest interval import at $/kW-month (Period).
//
// # Money
//
// Money is integer micro-dollars (ledger.Micros). Each amount is computed
// in float64 from exact inputs and rounded once, half away from zero; sums
// and differences are then exact integer arithmetic, checked for overflow.
// With h the interval's hours and energies X_Wh = X_W × h:
//
//	BlockCost      = round(block price × (block MW×1e6 × h))         $/MWh × Wh = µ$
//	SpotCost       = round((spot + index adder) × SpotWh)
//	ResaleCredit   = round((spot + resale adder) × BlockUnusedWh)
//	ExportCredit   = round(export price × ExportWh)                  ExportWh = 0 unless price > 0
//	EnergyCost     = BlockCost + SpotCost − ResaleCredit − ExportCredit
//	CapacityCredit = Σ round(capacity rate × (MW×1e6 × active hours))
//	Penalty        = Σ round(penalty rate × (ShortfallWh + FloorShortfallWh))
//	NetCost        = EnergyCost − CapacityCredit + Penalty
//	AIValue        = Σ round(AI value × AI Wh)
//	FourCPAccrual  = round(FourCPCostPerW × ImportW × 1e6)           peak intervals only
//	demand charge  = round(rate × month's peak import kW × 1e6)
//	4CP charge     = round(rate × tag kW × 1e6)
//
// so every total reconciles with its parts to the micro-dollar.
//
// # What the package does not do
//
// It is pure: no I/O, no clock, no goroutines. It does not decide dispatch
// (internal/dispatch does, using CostCurve and Constraints), forecast
// prices or 4CP peaks, or value mining (the ledger prices bitcoin earned;
// mining revenue is not in any amount here). It curtails on-site
// generation only to avoid exporting at a price of $0/MWh or below:
// generation always serves the load first, even when importing would cost
// less (at a negative import price). It models no
// energy payment for deployed reductions, no per-hour ancillary-service
// clearing prices (each commitment has one capacity rate), no cumulative
// deployment limits per contract term (such as ERS's), no transmission
// losses, taxes or other wires charges, and no under-frequency relay (the
// live controller's safety layer trips it; settlement treats RRS-UFR as
// a 1-second deadline).
package contract
