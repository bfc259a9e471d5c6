package webhook

import (
	"math"
	"time"
)

// Backoff is the retry schedule of a failing endpoint: Initial after the
// first failure, multiplied by Factor after each further one, never more
// than Max, each delay spread by ±Jitter (a fraction) so that endpoints
// that failed together (one outage) are not all retried in the same second.
type Backoff struct {
	Initial time.Duration
	Factor  float64
	Max     time.Duration
	Jitter  float64
}

// DefaultBackoff retries after about 5 s, 15 s, 45 s, 2 m, 7 m, 20 m, 1 h, 3 h,
// then every 4 h: about a dozen attempts in the first 24 hours.
func DefaultBackoff() Backoff {
	return Backoff{Initial: 5 * time.Second, Factor: 3, Max: 4 * time.Hour, Jitter: 0.2}
}

// Delay returns the wait after the given number of consecutive failures
// (1 or more); rnd is a uniform random number in [0, 1).
func (b Backoff) Delay(failures int, rnd float64) time.Duration {
	if failures < 1 {
		failures = 1
	}
	d := float64(b.Initial) * math.Pow(b.Factor, float64(failures-1))
	if d > float64(b.Max) || math.IsInf(d, 0) {
		d = float64(b.Max)
	}
	d *= 1 - b.Jitter + 2*b.Jitter*rnd
	return time.Duration(d).Round(time.Millisecond)
}
