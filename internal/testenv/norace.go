//go:build !race

package testenv

// raceEnabled: this test binary runs without the race detector.
const raceEnabled = false
