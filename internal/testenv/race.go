//go:build race

package testenv

// raceEnabled: this test binary runs with the race detector, and so do the
// binaries BuildBinary builds for it.
const raceEnabled = true
