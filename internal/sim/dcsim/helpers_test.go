package dcsim

import "time"

var testNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
