package monitor

import "math/bits"

// FlapWindow is the number of results flap detection looks at (Nagios's
// MAX_STATE_HISTORY_ENTRIES).
const FlapWindow = 21

const flapMask = 1<<FlapWindow - 1

// RecordFlap pushes one result (notOK true for a not-ok result) into a
// flap history, bit 0 the newest, and returns the new history and count.
func RecordFlap(history uint32, count int, notOK bool) (uint32, int) {
	history <<= 1
	if notOK {
		history |= 1
	}
	return history & flapMask, min(count+1, FlapWindow)
}

// FlapPercent computes Nagios's weighted percent state change over a flap
// history of count results (bit 0 the newest). Of the 21 results, the 20
// changes between neighbours are weighted linearly from 0.75 (oldest) to
// 1.25 (newest), and percent = weighted changes * 100 / 20. With fewer than
// 21 results the missing older ones count as equal to the oldest known,
// so they add no changes (Nagios fills its history with the first state).
//
// Examples: one change between the two newest results: 1.25*100/20 = 6.25;
// 21 alternating results: 100.
func FlapPercent(history uint32, count int) float64 {
	if count < 2 {
		return 0
	}
	count = min(count, FlapWindow)
	// changes has bit i set when result i differs from the older result i+1.
	changes := (history ^ history>>1) & (1<<(count-1) - 1)
	// The weight of change i is 0.75 + (19-i)*0.5/19 = (95-2i)/76; sum the
	// numerators as integers so the common cases are exact.
	sum := 0
	for changes != 0 {
		i := bits.TrailingZeros32(changes)
		sum += 95 - 2*i
		changes &= changes - 1
	}
	return float64(sum) * 100 / (76 * (FlapWindow - 1))
}

// flapping applies the thresholds with hysteresis: start at >= high, stop
// at <= low, otherwise keep the previous value.
func flapping(was bool, percent, low, high float64) bool {
	switch {
	case was && percent <= low:
		return false
	case !was && percent >= high:
		return true
	}
	return was
}
