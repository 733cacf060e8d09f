package source

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestDatetimeText checks the hand-rolled DATETIME and TIMESTAMP text
// against time.Format over random instants and every precision.
func TestDatetimeText(t *testing.T) {
	layouts := []string{"2006-01-02T15:04:05", "2006-01-02T15:04:05.0", "2006-01-02T15:04:05.00", "2006-01-02T15:04:05.000",
		"2006-01-02T15:04:05.0000", "2006-01-02T15:04:05.00000", "2006-01-02T15:04:05.000000"}
	rng := rand.New(rand.NewPCG(1, 2))
	lo := time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
	cases := []time.Time{
		time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC),
		time.Date(2038, 1, 19, 3, 14, 7, 999999000, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2024, 2, 29, 9, 5, 3, 50000, time.UTC),
	}
	for range 2000 {
		cases = append(cases, time.Unix(lo+rng.Int64N(hi-lo), int64(rng.IntN(1_000_000))*1000).UTC())
	}
	for _, c := range cases {
		for fsp, layout := range layouts {
			if got, want := datetimeText(c, fsp, false), c.Format(layout); got != want {
				t.Fatalf("datetimeText(%v, %d) = %q, want %q", c, fsp, got, want)
			}
			if got, want := datetimeText(c, fsp, true), c.Format(layout)+"Z"; got != want {
				t.Fatalf("datetimeText(%v, %d, zone) = %q, want %q", c, fsp, got, want)
			}
		}
	}
}

func BenchmarkDatetimeText(b *testing.B) {
	ts := time.Date(2024, 5, 17, 12, 34, 56, 123456000, time.UTC)
	for b.Loop() {
		_ = datetimeText(ts, 6, false)
	}
}
