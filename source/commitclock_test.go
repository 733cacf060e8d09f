package source

import (
	"testing"
	"time"
)

func TestCommitEstimate(t *testing.T) {
	sec := uint32(1_700_000_000)
	lo := int64(sec) * 1000
	at := func(ms int64) time.Time { return time.UnixMilli(lo + ms) }
	tests := []struct {
		name string
		a    arrival
		want int64 // ms after the header's second
	}{
		{"waited: the arrival", arrival{at(730), true}, 730},
		{"waited, long after its second: the second's end", arrival{at(4000), true}, 999},
		{"buffered early in its second: the arrival", arrival{at(200), false}, 200},
		{"buffered late: the middle of the second", arrival{at(900), false}, 500},
		{"buffered long after: the middle of the second", arrival{at(3000), false}, 500},
		{"arrival before the header's second (clocks apart): the second", arrival{at(-300), true}, 0},
		{"no arrival: the second", arrival{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := commitEstimate(sec, tt.a) - lo; got != tt.want {
				t.Errorf("commitEstimate = second + %d ms, want + %d", got, tt.want)
			}
		})
	}
}

func TestArrived(t *testing.T) {
	asked := time.Now()
	if a := arrived(asked, asked.Add(time.Microsecond)); a.waited {
		t.Error("an event back in 1µs counts as waited for")
	}
	if a := arrived(asked, asked.Add(5*time.Millisecond)); !a.waited || !a.at.Equal(asked.Add(5*time.Millisecond)) {
		t.Errorf("an event back in 5ms: %+v", a)
	}
}
