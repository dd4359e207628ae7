// Package optimize solves the site scheduling problem exactly or with a
// proven bound: which operating level every class of machines runs at in
// each interval of a horizon, so that mining (and other) revenue minus the
// site's power cost and soft-bound penalties is as large as possible, under
// minimum run and sleep times, per-class ramp limits and a site ramp limit.
// The look-ahead planner calls it every interval over hours to days; the
// offline oracle calls it once over up to a year of 15-minute intervals.
//
// # Model
//
// A Class is a group of machines dispatched as one unit. In each interval t
// it is asleep (level 0, drawing Sleep watts) or running at one of its
// Levels (level k ≥ 1 is Levels[k-1]: Power watts, Hash TH/s and an extra
// Value in $ per interval). The site draw D_t is the sum of the class draws
// (summed in class order). The objective, maximised, is
//
//	Σ_t [ Σ_c (Hash_{c,t}·HashValue_t + Value_{c,t})
//	      − cost_t(D_t)
//	      − UnderPenalty·max(0, Min_t − D_t) − OverPenalty·max(0, D_t − Max_t) ]
//
// where cost_t is the convex piecewise-linear curve of Problem.Cost (its
// segments are filled in order). The hard constraints are: a class that
// starts stays running (at any level) for MinRun intervals and a class that
// stops stays asleep for MinSleep intervals, counting the Init.Age intervals
// already spent in the initial mode; a class's draw changes by at most Ramp
// between consecutive intervals; the site draw changes by at most SiteRamp
// (from the sum of the initial draws before interval 0). Staying at the same
// level is always allowed, so "everyone stays" is feasible and every valid
// Problem has a solution. All comparisons are exact float64 comparisons.
//
// # Methods
//
// Solve picks one of three methods (Options.Method can force one):
//
//   - separable: nothing couples the classes (no soft bound can bind, the
//     cost is affine over every possible draw, no binding site ramp), so
//     each class is solved alone by a backward dynamic programme over its
//     states (level, time in mode capped at MinRun or MinSleep). Exact.
//   - joint: the classes are coupled but the product of their state counts
//     is at most Options.JointLimit and the work at most Options.JointWork;
//     one dynamic programme runs over joint states, with the site cost,
//     penalties and site ramp evaluated on totals. Exact.
//   - lagrangian: otherwise. The site draw is priced per interval (μ_t) and
//     the site ramp is dualised (γ_t), which leaves one exact class DP per
//     class plus a per-interval site problem solved exactly at its
//     breakpoints; the dual value is a proven upper bound (Solution.Bound),
//     improved by Polyak subgradient steps toward the best schedule found.
//     Feasible schedules come from block-coordinate ascent: each class in
//     turn is re-solved exactly by DP with the others fixed (exact site
//     cost, the site ramp as a time-varying limit on its own moves),
//     starting from "everyone stays" and from the Lagrangian schedules
//     (first repaired, if they break the site ramp, by passes that charge
//     ever more for each watt of excess). Where single classes are stuck,
//     a large-neighbourhood search re-solves subsets of two to four classes
//     jointly and exactly over overlapping day-long windows, busiest
//     windows of the duality gap first, within Options.NeighbourhoodWork.
//     The result is exact only when the gap closes to Options.Tolerance;
//     otherwise Solution.Gap says how far from optimal it can be. With
//     indivisible classes under a cap the dual bound itself stays a little
//     above the optimum, so a gap of a fraction of a percent is normal.
//
// The exact methods break ties between equally good schedules (equal in
// float64) the same way every time: at each interval, in time order, a
// class keeps its level if that is optimal, otherwise takes the lowest
// optimal level (class by class, in class order, in the joint DP); the
// Lagrangian method's searches prefer the same. Solve may run the per-class programmes on several goroutines
// (Options.Workers) but its result never depends on their number or timing:
// the same Problem and Options give the same Solution, bit for bit.
//
// # What it does not do
//
// It knows nothing of miners, prices as time series, units or clocks: the
// caller converts $/MWh and hashprice into per-interval money, W and TH/s,
// and maps classes back to machines. It does no I/O (WriteLP writes to the
// io.Writer it is given) and keeps no state between calls. It does not
// model start-up costs, stochastic prices or per-machine detail inside a
// class.
package optimize
